"""utils/imaging/regions.py: boxes, context crop, fitting to the service limits, bit-exact paste-back."""
from __future__ import annotations

import math

import numpy as np
import pytest

from volc_pack.utils.api.errors import InputError
from volc_pack.utils.imaging.regions import (Box, FitPlan, apply_fit, apply_fit_mask, context_box, mask_bbox,
                                             paste_back, plan_fit, undo_fit)


def _mask(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def _sanitised(original: np.ndarray) -> np.ndarray:
    """Independent spelling: RGB, NaN -> 0, clipped, float32."""
    rgb = original[..., :3] if original.shape[2] >= 3 else np.repeat(original, 3, axis=2)
    return np.clip(np.nan_to_num(rgb.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0), 0, 1)


# ----------------------------------------------------------------------------------------------- Box / bbox

def test_box_properties_and_slices():
    box = Box(2, 3, 7, 11)
    assert (box.width, box.height) == (5, 8)
    arr = np.arange(20 * 20).reshape(20, 20)
    assert arr[box.slices].shape == (8, 5) and arr[box.slices][0, 0] == arr[3, 2]
    with pytest.raises(AttributeError):
        box.x0 = 1  # frozen


def test_mask_bbox():
    assert mask_bbox(np.zeros((5, 5), bool)) is None
    assert mask_bbox(_mask(50, 60, 10, 20, 30, 45)) == Box(30, 10, 45, 20)
    m = np.zeros((9, 9), bool)
    m[8, 0] = m[0, 8] = True
    assert mask_bbox(m) == Box(0, 0, 9, 9)


# ----------------------------------------------------------------------------------------------- context_box

def test_context_box_centred_with_factor_and_margin():
    m = _mask(2000, 2000, 900, 1000, 800, 1000)  # 200 x 100 object
    box = context_box(m, 2.0, 10)
    assert (box.width, box.height) == (440, 240)  # (200 + 2*10) * 2, (100 + 2*10) * 2
    assert (box.x0 + box.x1) / 2 == pytest.approx(900, abs=1) and (box.y0 + box.y1) / 2 == pytest.approx(950, abs=1)
    assert context_box(m, 1.0, 0) == Box(800, 886, 1000, 1014)  # height raised to the 128 px minimum


def test_context_box_minimum_side_for_tiny_objects():
    box = context_box(_mask(1000, 1000, 500, 502, 500, 503), 2.0, 5)
    assert (box.width, box.height) == (128, 128)
    assert box.x0 <= 495 and box.x1 >= 508 and box.y0 <= 495 and box.y1 >= 507


H, W, S = 800, 1200, 100
_PLACES = {  # name -> (y0, x0) of a 100x100 object
    "left": (350, 0), "right": (350, W - S), "top": (0, 550), "bottom": (H - S, 550),
    "top-left": (0, 0), "top-right": (0, W - S), "bottom-left": (H - S, 0), "bottom-right": (H - S, W - S),
}


@pytest.mark.parametrize("where", list(_PLACES))
def test_context_box_is_shifted_not_clipped_at_borders_and_corners(where):
    y0, x0 = _PLACES[where]
    box = context_box(_mask(H, W, y0, y0 + S, x0, x0 + S), 2.0, 20)
    assert (box.width, box.height) == (280, 280)  # full size kept: (100 + 2*20) * 2
    assert 0 <= box.x0 and box.x1 <= W and 0 <= box.y0 and box.y1 <= H
    assert box.x0 <= max(0, x0 - 20) and box.x1 >= min(W, x0 + S + 20)  # mask + margin inside
    assert box.y0 <= max(0, y0 - 20) and box.y1 >= min(H, y0 + S + 20)
    assert (box.x0 == 0) == ("left" in where) and (box.x1 == W) == ("right" in where)
    assert (box.y0 == 0) == ("top" in where) and (box.y1 == H) == ("bottom" in where)


def test_context_box_clips_only_when_larger_than_the_image():
    m = _mask(80, 100, 30, 40, 40, 60)
    assert context_box(m, 2.0, 5) == Box(0, 0, 100, 80)  # 128 minimum does not fit: the whole image
    big = _mask(3000, 4000, 1000, 1100, 2000, 2100)
    assert context_box(big, 1000.0, 0) == Box(0, 0, 4000, 3000)
    wide = context_box(_mask(300, 4000, 100, 200, 1000, 1400), 2.0, 0)
    assert (wide.width, wide.y0, wide.y1) == (800, 50, 250)


def test_context_box_bad_inputs():
    with pytest.raises(InputError) as err:
        context_box(_mask(10, 10, 1, 2, 1, 2), 0.5, 0)
    assert "context" in err.value.message and err.value.hint
    with pytest.raises(InputError) as err:
        context_box(np.zeros((10, 10), bool), 2.0, 0)
    assert "mask" in err.value.message and err.value.hint


# ----------------------------------------------------------------------------------------------- plan_fit

@pytest.mark.parametrize("size,scaled,send", [
    ((16, 16), (64, 64), (64, 64)),
    ((1, 1), (64, 64), (64, 64)),
    ((64, 64), (64, 64), (64, 64)),
    ((32, 100), (64, 200), (64, 200)),          # upscale only as far as needed
    ((5000, 3000), (4096, 2458), (4096, 2458)),
    ((8192, 8192), (4096, 4096), (4096, 4096)),
    ((4096, 4096), (4096, 4096), (4096, 4096)),
    ((10000, 300), (4096, 123), (4096, 123)),
    ((300, 10000), (123, 4096), (123, 4096)),
    ((100000, 10), (4096, 1), (4096, 64)),      # beyond 64:1: pad the short side
    ((20, 2000), (41, 4096), (64, 4096)),       # upscaling the short side would break the long one
])
def test_plan_fit_sizes(size, scaled, send):
    plan = plan_fit(*size)
    assert (plan.src_w, plan.src_h) == size
    assert (plan.scaled_w, plan.scaled_h) == scaled and (plan.send_w, plan.send_h) == send
    assert (plan.pad_x, plan.pad_y) == (send[0] - scaled[0], send[1] - scaled[1])


def test_plan_fit_properties_over_many_sizes():
    rng = np.random.default_rng(7)
    for w, h in rng.integers(1, 20000, (300, 2)):
        plan = plan_fit(int(w), int(h))
        assert all(isinstance(v, int) and v >= 1 for v in vars(plan).values() if v) and plan.pad_x >= 0
        assert max(plan.send_w, plan.send_h) <= 4096 and min(plan.send_w, plan.send_h) >= 64
        if plan.pad_x or plan.pad_y:
            assert max(w, h) / min(w, h) > 64 * 0.98
        assert abs(plan.scaled_w / plan.scaled_h - w / h) <= (w / h) * (1 / min(plan.scaled_w, plan.scaled_h) + 1e-9)
        if 64 <= min(w, h) and max(w, h) <= 4096:
            assert (plan.scaled_w, plan.scaled_h, plan.pad_x, plan.pad_y) == (w, h, 0, 0)


# ----------------------------------------------------------------------------------------------- apply / undo fit

@pytest.mark.parametrize("size", [(16, 16), (64, 64), (100, 10), (300, 5000), (6000, 50)])
def test_apply_and_undo_fit_round_trip_sizes(size):
    w, h = size
    rng = np.random.default_rng(w + h)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    plan = plan_fit(w, h)
    sent = apply_fit(rgb, plan)
    assert sent.shape == (plan.send_h, plan.send_w, 3) and sent.dtype == np.uint8
    if plan.pad_y:
        assert np.array_equal(sent[plan.scaled_h:], np.repeat(sent[plan.scaled_h - 1:plan.scaled_h], plan.pad_y, 0))
    back = undo_fit(sent, plan)
    assert back.shape == (h, w, 3) and back.dtype == np.uint8
    if (w, h) == (64, 64):
        assert np.array_equal(back, rgb)
    m = np.zeros((h, w), bool)
    m[h // 2, :] = True  # a 1-px line survives and the pad is never erased
    sent_mask = apply_fit_mask(m, plan)
    assert sent_mask.shape == (plan.send_h, plan.send_w) and sent_mask.dtype == bool
    assert sent_mask[:plan.scaled_h, :plan.scaled_w].any(axis=0).all()
    assert not sent_mask[plan.scaled_h:].any() and not sent_mask[:, plan.scaled_w:].any()


def test_undo_fit_drops_the_padding():
    plan = FitPlan(src_w=4096, src_h=2, scaled_w=4096, scaled_h=2, send_w=4096, send_h=64, pad_x=0, pad_y=62)
    result = np.zeros((64, 4096, 3), np.uint8)
    result[:2] = 200
    assert np.array_equal(undo_fit(result, plan), np.full((2, 4096, 3), 200, np.uint8))


def test_apply_fit_rejects_a_wrong_size():
    with pytest.raises(ValueError):
        apply_fit(np.zeros((10, 10, 3), np.uint8), plan_fit(20, 10))


# ----------------------------------------------------------------------------------------------- paste_back

def _scene(channels: int = 3, dtype=np.float32, seed: int = 0):
    rng = np.random.default_rng(seed)
    original = rng.uniform(-0.1, 1.1, (60, 80, channels)).astype(dtype)
    original[5, 5, 0] = np.nan
    original[20, 40, 0] = np.nan  # inside the box, weight 0
    original[7, 70, 0] = np.inf
    box = Box(30, 10, 70, 50)
    result = rng.integers(0, 256, (box.height, box.width, 3), dtype=np.uint8)
    weights = np.zeros((box.height, box.width), np.float32)
    weights[10:30, 5:35] = rng.uniform(0.0, 1.0, (20, 30)).astype(np.float32)
    weights[15:25, 15:25] = 1.0
    weights[0, 0] = weights[12, 10] = np.nan  # NaN and negative weights count as 0
    weights[11, 8] = -0.5
    return original, result, box, weights


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_paste_back_is_bit_exact_where_weights_are_zero(channels):
    original, result, box, weights = _scene(channels)
    keep = original.copy()
    out = paste_back(original, result, box, weights)
    assert out.dtype == np.float32 and out.shape == (60, 80, 3) and out.flags.c_contiguous
    assert np.array_equal(original, keep, equal_nan=True)  # input untouched
    expected = _sanitised(original)
    touched = np.zeros((60, 80), bool)
    touched[box.slices] = weights > 0
    assert np.array_equal(out[~touched], expected[~touched])
    assert not np.isnan(out).any()


def test_paste_back_blends_inside():
    original, result, box, weights = _scene(3)
    out = paste_back(original, result, box, weights)
    base = _sanitised(original)[box.slices]
    w = np.nan_to_num(weights)[..., None]
    blend = base * (np.float32(1) - w) + result.astype(np.float32) / np.float32(255) * w
    sel = np.nan_to_num(weights) > 0
    assert np.allclose(out[box.slices][sel], blend[sel], rtol=0, atol=1e-6)
    full = weights == 1.0
    assert np.array_equal(out[box.slices][full], result[full].astype(np.float32) / np.float32(255))


def test_paste_back_non_contiguous_float64_original_and_out_argument():
    original, result, box, weights = _scene(3, np.float64)
    view = np.asfortranarray(original)[:, :, ::-1][:, :, ::-1]  # odd strides, same values
    out = paste_back(view, result, box, weights)
    ref = paste_back(original.astype(np.float32), result, box, weights)
    assert np.array_equal(out, ref)
    slot = np.full((2, 60, 80, 3), 9.0, np.float32)
    got = paste_back(original, result, box, weights, out=slot[1])
    assert np.shares_memory(got, slot[1])
    assert np.array_equal(slot[1], ref) and (slot[0] == 9.0).all()


def test_paste_back_empty_box_returns_the_sanitised_original():
    original, _, _, _ = _scene(4)
    out = paste_back(original, np.zeros((0, 0, 3), np.uint8), Box(0, 0, 0, 0), np.zeros((0, 0), np.float32))
    assert out is not original and np.array_equal(out, _sanitised(original))


def test_paste_back_rejects_mismatched_shapes():
    original, result, box, weights = _scene(3)
    with pytest.raises(ValueError):
        paste_back(original, result[1:], box, weights)
    with pytest.raises(ValueError):
        paste_back(original, result, Box(50, 10, 90, 50), weights)
    assert math.isfinite(float(paste_back(original, result, box, weights).sum()))
