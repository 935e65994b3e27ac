"""The stand-in's plausible real-service variations: rounded, capped or wild result sizes, a fill reaching past the
round dilation with a colour shift, and the watermark stamped into the received picture's corner."""
from __future__ import annotations

import numpy as np
import pytest
from volc_pack.utils.standin import Fault
from volc_pack.utils.standin.variations import COLOUR_SHIFT, mark_box

from helpers.standin import body, encode, post, result_image


def smooth(width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 200 // width, yy * 200 // height, np.full_like(xx, 90)], -1).astype(np.uint8)


def centre_mask(width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[height * 2 // 5: height * 3 // 5, width * 2 // 5: width * 3 // 5] = 255
    return mask


def checker(width: int, height: int) -> np.ndarray:
    """8-px cells on JPEG's block grid (so JPEG keeps them), which a smooth fill cannot reproduce."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.repeat(np.where((yy // 8 + xx // 8) % 2, 190, 60).astype(np.uint8)[..., None], 3, axis=2)


def answer(standin, width: int, height: int, picture=smooth, **params) -> np.ndarray:
    payload = body(encode(picture(width, height)), encode(centre_mask(width, height)), **params)
    response = post(standin, payload)
    assert response.json()["code"] == 10000
    return np.asarray(result_image(response).convert("RGB"))


@pytest.mark.parametrize("kind,size,expected", [
    ("round_size_8", (320, 300), (320, 296)),
    ("round_size_64", (320, 300), (320, 256)),
    ("round_size_64", (320, 256), (320, 256)),  # already a multiple: nothing to round
    ("capped_size", (640, 500), (256, 200)),
    ("wild_size", (320, 256), (320, 85)),
])
def test_result_size_faults(standin, kind, size, expected):
    standin.inject(Fault(kind))
    result = answer(standin, *size)
    assert (result.shape[1], result.shape[0]) == expected
    assert standin.pending_faults() == 0


def test_size_faults_only_apply_to_inpainting(standin):
    standin.inject(Fault("round_size_64", action="saliency_seg"), Fault("seam_drift"))
    assert Fault("round_size_64").matches("i2i_inpainting") and not Fault("seam_drift").matches("saliency_seg")


def test_seam_drift_reaches_past_the_round_dilation_and_shifts_every_colour(standin):
    width, height, dilate = 200, 200, 10
    plain = answer(standin, width, height, checker, dilate_size=dilate).astype(int)
    standin.inject(Fault("seam_drift"))
    drifted = answer(standin, width, height, checker, dilate_size=dilate).astype(int)
    original = checker(width, height).astype(int)
    far = (slice(0, 20), slice(0, 20))  # far from the mask: only the colour shift (and JPEG noise)
    assert np.abs((drifted[far] - original[far]).mean(axis=(0, 1)) - COLOUR_SHIFT).max() < 1.5
    assert np.abs((plain[far] - original[far]).mean(axis=(0, 1))).max() < 1.5
    # the mask is the square [80, 120); the round dilation stops 10 px out, the square one fills the diagonal
    corner = (slice(80 - dilate - 4, 80 - dilate), slice(80 - dilate - 4, 80 - dilate))
    edge = (slice(80 - dilate - 4, 80 - dilate), slice(95, 105))  # along the axis it reaches 2 px further
    assert np.abs(drifted[corner] - original[corner]).mean() > 3 * np.abs(plain[corner] - original[corner]).mean()
    assert np.abs(drifted[edge] - original[edge]).mean() > 3 * np.abs(plain[edge] - original[edge]).mean()


@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_the_watermark_is_stamped_into_the_requested_corner(standin, position):
    settings = {"add_logo": True, "position": position, "language": 1, "opacity": 0.6}
    marked = answer(standin, 320, 256, logo_info=settings).astype(int)
    plain = answer(standin, 320, 256).astype(int)
    x0, y0, x1, y1 = mark_box(320, 256, settings)
    changed = np.abs(marked - plain).max(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1
    assert changed[y0:y1, x0:x1].mean() > 0.1  # a visible, text-like block
    assert (x0 < 40) == (position in (1, 2)) and (y0 < 40) == (position in (2, 3))


def test_watermark_text_opacity_and_size_follow_the_request(standin):
    base = {"add_logo": True, "position": 0}
    plain = answer(standin, 640, 512).astype(int)
    faint = np.abs(answer(standin, 640, 512, logo_info={**base, "opacity": 0.2}).astype(int) - plain).max()
    strong = np.abs(answer(standin, 640, 512, logo_info={**base, "opacity": 0.9}).astype(int) - plain).max()
    assert faint < strong
    off = np.abs(answer(standin, 640, 512, logo_info={**base, "opacity": 0.0}).astype(int) - plain).max()
    assert off < 8  # only JPEG noise
    short = mark_box(640, 512, {**base, "logo_text_content": "AI"})
    long = mark_box(640, 512, {**base, "logo_text_content": "made with a model"})
    assert long[2] - long[0] > 3 * (short[2] - short[0])
    small, large = mark_box(320, 256, base), mark_box(1280, 1024, base)
    assert large[3] - large[1] > 3 * (small[3] - small[1])  # sized by the picture received
