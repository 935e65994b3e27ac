"""Results read in row bands (decoded.py, regions.undo_fit_image, seam, paste_back) give bit for bit what the
whole-array path gives: the numpy spellings here are the rules as they were before results stayed Pillow images."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from volc_pack.utils import erase
from volc_pack.utils.api.client import InpaintOptions
from volc_pack.utils.imaging import regions, seam
from volc_pack.utils.imaging.codec import decode_image, resize_rgb
from volc_pack.utils.imaging.decoded import ImageRows, open_image
from volc_pack.utils.imaging.masks import paste_weights
from volc_pack.utils.imaging.regions import Box, FitPlan, paste_back, undo_fit_image
from volc_pack.utils.paste_masks import PasteMasks


def picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 // max(1, width), yy * 255 // max(1, height), (xx ^ yy) & 255], -1)
    return np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def array_undo_fit(result: np.ndarray, plan: FitPlan) -> np.ndarray:
    """The numpy spelling: resize to the sent size, slice the pad off, resize to the crop (Lanczos)."""
    if result.shape[:2] != (plan.send_h, plan.send_w):
        result = resize_rgb(result, plan.send_w, plan.send_h)
    content = np.ascontiguousarray(result[plan.pad_top: plan.pad_top + plan.scaled_h,
                                          plan.pad_left: plan.pad_left + plan.scaled_w])
    return resize_rgb(content, plan.src_w, plan.src_h)


def test_rows_are_the_decoded_pixels_band_by_band():
    rgb = picture(70, 90)
    rows = ImageRows(open_image(jpeg(rgb)))
    whole = decode_image(jpeg(rgb))
    assert rows.shape == whole.shape
    assert np.array_equal(rows[10:33], whole[10:33]) and np.array_equal(rows[5:9, 20:77], whole[5:9, 20:77])
    assert np.array_equal(rows[60:200], whole[60:])  # clipped like numpy
    assert rows[40:40].shape == (0, 90, 3) and rows[3:7, 50:50].shape == (4, 0, 3)
    with pytest.raises(IndexError):
        rows[::2]


def test_open_image_keeps_the_pixels_and_converts_other_modes():
    grey = Image.fromarray(picture(20, 30)[..., 0])
    buf = io.BytesIO()
    grey.save(buf, format="PNG")
    img = open_image(buf.getvalue())
    assert img.mode == "RGB" and np.array_equal(np.asarray(img)[..., 2], np.asarray(grey))
    with pytest.raises(ValueError, match="cannot decode image"):
        open_image(b"not an image")


@pytest.mark.parametrize("plan, got", [
    (FitPlan(300, 200, 300, 200, 320, 256, 20, 56, 0, 0), (320, 256)),       # padded right and bottom
    (FitPlan(300, 200, 300, 200, 320, 256, 20, 56, 20, 56), (320, 256)),     # padded left and top (a watermark)
    (FitPlan(5000, 2400, 4096, 1966, 4096, 1984, 0, 18, 0, 0), (4096, 1984)),  # scaled down, then padded
    (FitPlan(300, 200, 300, 200, 320, 256, 20, 56, 0, 0), (160, 128)),       # a result of another size
    (FitPlan(256, 192, 256, 192, 256, 192, 0, 0), (256, 192)),               # nothing to undo
])
def test_undo_fit_image_equals_the_array_path(plan, got):
    result = picture(got[1], got[0], seed=3)
    via_pillow = np.asarray(undo_fit_image(Image.fromarray(result), plan))
    assert np.array_equal(via_pillow, array_undo_fit(result, plan))
    assert np.array_equal(regions.undo_fit(result, plan), via_pillow)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_banded_paste_back_equals_the_whole_array_paste_bit_for_bit(monkeypatch, channels):
    rng = np.random.default_rng(5)
    original = rng.uniform(-0.1, 1.1, (120, 160, channels)).astype(np.float32)
    original[7, 9] = np.nan
    box = Box(30, 20, 130, 100)
    region = np.zeros((box.height, box.width), bool)
    region[25:55, 30:70] = True
    weights = paste_weights(region, 3, 6)
    result = picture(box.height, box.width, seed=6)
    drift = np.array([3.0, -2.0, 1.5], np.float32)
    expected = paste_back(original, result, box, weights, drift=drift)
    monkeypatch.setattr(regions, "_BLEND_FLOATS", 3 * box.width * 7)  # bands of 7 rows: many band edges
    banded = paste_back(original, ImageRows(Image.fromarray(result)), box, weights, drift=drift)
    assert np.array_equal(banded.view(np.uint32), expected.view(np.uint32))


def test_drift_read_in_bands_equals_the_drift_of_the_whole_array(monkeypatch):
    rng = np.random.default_rng(2)
    original = rng.uniform(0.1, 0.9, (90, 120, 3)).astype(np.float32)
    region = np.zeros((90, 120), bool)
    region[30:60, 40:80] = True
    weights = paste_weights(region, 4, 5)
    samples = seam.sample_band(seam.drift_band(region, weights, 4, 5))
    result = np.clip(original * 255 + rng.normal(3, 2, original.shape) + 0.5, 0, 255).astype(np.uint8)
    whole = seam.colour_drift(result, original, samples)
    monkeypatch.setattr(seam, "_GATHER_PIXELS", 120 * 3)  # 3 rows a band
    assert np.array_equal(seam.colour_drift(ImageRows(Image.fromarray(result)), original, samples), whole)
    assert np.array_equal(seam.colour_drift(result, original, samples), whole)


@pytest.mark.parametrize("got, pad", [((256, 192), (0, 0)), ((128, 96), (0, 0)), ((256, 192), (32, 24))])
def test_finish_pastes_what_the_array_path_pastes(got, pad):
    """erase._finish (Pillow image, bands) against decode -> undo_fit -> colour_drift -> paste_back on arrays."""
    rng = np.random.default_rng(9)
    original = rng.uniform(0, 1, (300, 400, 3)).astype(np.float32)
    box = Box(50, 40, 50 + 256 - pad[0], 40 + 192 - pad[1])
    plan = FitPlan(box.width, box.height, box.width, box.height, 256, 192, pad[0], pad[1], pad[0], pad[1])
    region = np.zeros((box.height, box.width), bool)
    region[60:120, 80:150] = True
    prep = erase.Prepared(0, box, plan, b"", b"", region, 3, {})
    erase._weights(prep, erase.EraseSettings(options=InpaintOptions()), PasteMasks(1, 1, 300, 400))
    data = jpeg(np.clip(picture(got[1], got[0], seed=4).astype(int) + 4, 0, 255).astype(np.uint8))
    out = np.empty((300, 400, 3), np.float32)
    used, notes = erase._finish(prep, original, data, out)

    back = array_undo_fit(decode_image(data), plan)
    drift = seam.colour_drift(back, original[box.slices], prep.band)
    assert drift is not None and (got == (256, 192)) == (not notes)
    expected = paste_back(original, back, box, np.array(prep.weights), drift=drift)
    assert np.array_equal(out.view(np.uint32), expected.view(np.uint32)) and used is prep.weights

