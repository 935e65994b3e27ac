"""The result's colour drift, measured outside the paste support and removed before blending (seam.py)."""
from __future__ import annotations

import numpy as np
from volc_pack.utils.imaging import seam
from volc_pack.utils.imaging.masks import paste_weights
from volc_pack.utils.imaging.regions import Box, paste_back

SHIFT = np.array([4.0, -3.0, 5.0], np.float32)


def scene(seed: int = 0):
    rng = np.random.default_rng(seed)
    original = rng.uniform(0.1, 0.9, (80, 100, 3)).astype(np.float32)
    region = np.zeros((80, 100), bool)
    region[30:50, 40:60] = True
    weights = paste_weights(region, 5, 4)
    return original, region, weights


def test_the_band_lies_just_outside_the_paste_support():
    _, region, weights = scene()
    band = seam.drift_band(region, weights, 5, 4)
    assert band.any() and not (band & (weights > 0)).any()
    ys, xs = np.nonzero(band)
    assert ys.min() >= 30 - 5 - 4 - seam.BAND and xs.max() <= 59 + 5 + 4 + seam.BAND


def test_drift_is_the_median_shift_on_the_band_despite_outliers_and_noise():
    original, region, weights = scene()
    band = seam.drift_band(region, weights, 5, 4)
    rng = np.random.default_rng(1)
    result = original * 255 + SHIFT + rng.normal(0, 2, original.shape)
    ys, xs = np.nonzero(band)
    pick = rng.random(ys.size) < 0.3
    result[ys[pick], xs[pick]] = 255  # a third of the band changed for real (a mark, the model's reach)
    drift = seam.colour_drift(np.clip(result + 0.5, 0, 255).astype(np.uint8), original, seam.sample_band(band))
    assert np.abs(drift - SHIFT).max() < 1.0


def test_no_drift_from_too_few_pixels_and_large_differences_are_capped():
    original, region, weights = scene()
    assert seam.sample_band(np.zeros((80, 100), bool)) is None
    assert seam.colour_drift(np.zeros((80, 100, 3), np.uint8), original, None) is None
    band = seam.drift_band(region, weights, 5, 4)
    bright = np.full((80, 100, 3), 255, np.uint8)
    assert (seam.colour_drift(bright, original, seam.sample_band(band)) == seam.MAX_DRIFT).all()


def test_greyscale_and_nan_originals_are_read_like_paste_back_reads_them():
    original, region, weights = scene()
    grey = original[..., :1].copy()
    grey[0, 0, 0] = np.nan
    band = seam.drift_band(region, weights, 5, 4)
    result = np.clip(np.repeat(np.nan_to_num(grey), 3, axis=2) * 255 + SHIFT + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(seam.colour_drift(result, grey, seam.sample_band(band)) - SHIFT).max() <= 0.5


def test_paste_back_removes_the_drift_and_leaves_weight_zero_pixels_bit_exact():
    original, _, weights = scene()
    result = np.clip(original * 255 + SHIFT + 0.5, 0, 255).astype(np.uint8)
    out = paste_back(original, result, Box(0, 0, 100, 80), weights, drift=SHIFT)
    outside = weights == 0
    assert np.array_equal(out[outside], original[outside])
    assert np.abs(out - original).max() * 255 <= 0.51  # the shift is gone; only the 8-bit rounding is left
    plain = paste_back(original, result, Box(0, 0, 100, 80), weights)
    assert np.abs(plain[weights == 1] - original[weights == 1]).mean() * 255 > 3
