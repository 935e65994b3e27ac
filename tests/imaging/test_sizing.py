"""Sent sizes are multiples of 64 (crop box grown or shrunk in the image, padded only where the image is too small);
results of another but plausible size are accepted, others refused in one sentence."""
from __future__ import annotations

import numpy as np
import pytest
from volc_pack.utils.api.errors import ServiceError
from volc_pack.utils.imaging.regions import Box, apply_fit, undo_fit
from volc_pack.utils.imaging.sizing import check_result_size, snap_fit


def _check(box: Box, need: Box, width: int, height: int, pad_before=(False, False)):
    got, plan = snap_fit(box, need, width, height, pad_before)
    assert plan.send_w % 64 == 0 and plan.send_h % 64 == 0
    assert 64 <= min(plan.send_w, plan.send_h) and max(plan.send_w, plan.send_h) <= 4096
    assert 0 <= got.x0 <= need.x0 and need.x1 <= got.x1 <= width
    assert 0 <= got.y0 <= need.y0 and need.y1 <= got.y1 <= height
    assert (plan.src_w, plan.src_h) == (got.width, got.height)
    assert (plan.scaled_w + plan.pad_x, plan.scaled_h + plan.pad_y) == (plan.send_w, plan.send_h)
    assert 0 <= plan.pad_left <= plan.pad_x and 0 <= plan.pad_top <= plan.pad_y
    if plan.pad_x:  # padding only where the image itself is too small: the box is the whole side
        assert (got.x0, got.x1) == (0, width)
    if plan.pad_y:
        assert (got.y0, got.y1) == (0, height)
    return got, plan


@pytest.mark.parametrize("box,need,size,expect_box,expect_send", [
    (Box(100, 100, 420, 400), Box(150, 150, 370, 350), (2000, 2000), Box(100, 90, 420, 410), (320, 320)),
    (Box(0, 0, 130, 130), Box(10, 10, 100, 100), (1000, 1000), Box(1, 1, 129, 129), (128, 128)),  # nearer: shrink
    (Box(0, 0, 100, 100), Box(10, 10, 60, 60), (100, 100), Box(10, 10, 74, 74), (64, 64)),  # image too small: shrink
    (Box(0, 0, 120, 100), Box(0, 0, 120, 100), (120, 100), Box(0, 0, 120, 100), (128, 128)),  # ...or pad
    (Box(0, 0, 4096, 4096), Box(0, 0, 4096, 4096), (4096, 4096), Box(0, 0, 4096, 4096), (4096, 4096)),
])
def test_snap_fit_examples(box, need, size, expect_box, expect_send):
    got, plan = _check(box, need, *size)
    assert got == expect_box and (plan.send_w, plan.send_h) == expect_send


def test_snap_fit_keeps_the_scale_when_it_must_shrink_or_grow():
    got, plan = _check(Box(0, 0, 6000, 3000), Box(100, 100, 5900, 2900), 8000, 3500)
    assert (plan.send_w, plan.send_h) == (4096, 2048)
    assert abs(plan.scaled_w / got.width - plan.scaled_h / got.height) < 0.002  # the same scale on both axes
    got, plan = _check(Box(0, 0, 40, 300), Box(0, 0, 40, 300), 40, 300)  # upscaled: 40 px is too narrow
    assert plan.send_w == 64 and plan.pad_x == 0 and plan.send_h % 64 == 0


def test_snap_fit_pads_before_the_content_when_asked():
    got, plan = _check(Box(0, 0, 100, 90), Box(0, 0, 100, 90), 100, 90, pad_before=(True, True))
    assert (plan.pad_left, plan.pad_top) == (28, 38) and (plan.send_w, plan.send_h) == (128, 128)
    rgb = np.random.default_rng(1).integers(0, 256, (90, 100, 3), dtype=np.uint8)
    sent = apply_fit(rgb, plan)
    assert np.array_equal(sent[38:, 28:], rgb)  # the content keeps the sent picture's bottom-right corner
    assert np.array_equal(undo_fit(sent, plan), rgb)


def test_snap_fit_over_many_random_boxes():
    rng = np.random.default_rng(64)
    for _ in range(400):
        width, height = (int(v) for v in rng.integers(1, 9000, 2))
        x0, x1 = sorted(int(v) for v in rng.integers(0, width + 1, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height + 1, 2))
        need = Box(x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))
        if need.x1 > width or need.y1 > height:
            continue
        box = need.pad(int(rng.integers(0, 300)), width, height)
        _check(box, need, width, height, (bool(rng.integers(2)), bool(rng.integers(2))))


@pytest.mark.parametrize("got,sent", [
    ((320, 296), (320, 300)),   # floored to 8
    ((320, 256), (320, 300)),   # floored to 64: another aspect, but a plausible rounding
    ((256, 208), (320, 256)),   # a model working at 256 px, sides floored to 8
    ((160, 128), (320, 256)),   # half size
    ((640, 512), (320, 256)),   # double size
])
def test_plausible_result_sizes_are_accepted_with_a_note(got, sent):
    note = check_result_size(*got, *sent)
    assert note == f"result {got[0]}x{got[1]} resized to {sent[0]}x{sent[1]}"


@pytest.mark.parametrize("got,sent", [
    ((256, 64), (256, 192)),    # another shape
    ((192, 256), (256, 192)),   # transposed
    ((320, 320), (320, 256)),   # taller, and no rounding of 256 gives 320
    ((16, 16), (1024, 1024)),   # the same shape, but nothing of the picture is left
])
def test_implausible_result_sizes_are_one_service_error(got, sent):
    with pytest.raises(ServiceError) as info:
        check_result_size(*got, *sent)
    text = str(info.value)
    assert f"{got[0]}x{got[1]}" in text and f"{sent[0]}x{sent[1]}" in text and "\n" not in text
    assert info.value.hint.startswith("Run again")


def test_the_sent_size_needs_no_note():
    assert check_result_size(320, 256, 320, 256) is None
