"""Colour matching at the paste-back seam.

A diffusion model may shift the colours of its whole output by a few levels. Blended into untouched pixels, that
shift would show as a seam along the paste boundary, so it is measured where the service was meant to change
nothing (a ring just outside the paste support) and subtracted from the result before blending. Pixels of weight 0
are never touched, so they stay bit-exact whatever the correction.
"""
from __future__ import annotations

import numpy as np

from .decoded import ImageRows
from .masks import grow

BAND = 8              # px beyond the paste support where the drift is measured
MAX_DRIFT = 12.0      # levels: a larger difference is content, not a colour drift, and is left alone
MIN_BAND_PIXELS = 32  # fewer pixels than this say nothing reliable
_SAMPLES = 1 << 16    # a median over this many pixels is plenty
_GATHER_PIXELS = 1 << 20  # pixels read per band when gathering the samples


def drift_band(region: np.ndarray, weights: np.ndarray, dilate: int, feather: int) -> np.ndarray:
    """bool, the crop's shape: a ring BAND px wide just outside the paste support (weight 0)."""
    return grow(region, dilate + max(0, feather) + BAND) & ~(weights > 0)


def sample_band(band: np.ndarray) -> np.ndarray | None:
    """Where colour_drift looks: flat indices (ascending) of at most ~_SAMPLES pixels spread over `band`; None when
    the band is too small to tell. A few hundred KB to keep while the calls are in flight, not the band itself."""
    index = np.flatnonzero(band)
    if index.size < MIN_BAND_PIXELS:
        return None
    return np.divmod(index[:: max(1, index.size // _SAMPLES)], band.shape[1])


def colour_drift(result: np.ndarray | ImageRows, original: np.ndarray,
                 samples: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | None:
    """float32 [3], levels the result is brighter than the original at `samples` (sample_band: rows ascending, and
    columns) as a per-channel median, clipped to +-MAX_DRIFT; None when there are none.

    result: uint8 [h,w,3] at the crop's size, or an ImageRows (read a band of rows at a time); original: the crop of
    the input (float 0..1, 1/3/4 channels, may hold NaN)."""
    if samples is None:
        return None
    ys, xs = samples
    got = _gather(result, ys, xs).astype(np.float32)
    was = np.asarray(original[ys, xs], dtype=np.float32)[:, :3]
    was = np.clip(np.nan_to_num(was, nan=0.0), 0.0, 1.0) * np.float32(255.0)  # greyscale broadcasts below
    diff = got - was
    drift = np.median(diff, axis=0)
    # Again without the outliers (a mark, the model's reach beyond the dilation): they pull a plain median
    spread = np.maximum(2.5 * np.median(np.abs(diff - drift), axis=0), 4.0)
    for c in range(3):
        near = diff[:, c][np.abs(diff[:, c] - drift[c]) <= spread[c]]
        drift[c] = np.median(near) if near.size else drift[c]
    return np.clip(drift, -MAX_DRIFT, MAX_DRIFT).astype(np.float32)


def _gather(result: np.ndarray | ImageRows, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """result[ys, xs] (ys ascending), reading `result` one band of rows at a time."""
    out = np.empty((ys.size, 3), np.uint8)
    step = max(1, _GATHER_PIXELS // max(1, result.shape[1]))
    starts = np.arange(int(ys[0]), int(ys[-1]) + 1, step)
    bounds = np.searchsorted(ys, np.append(starts, starts[-1] + step))
    for r0, lo, hi in zip(starts, bounds[:-1], bounds[1:], strict=True):
        if hi > lo:
            out[lo:hi] = result[r0:r0 + step][ys[lo:hi] - r0, xs[lo:hi]]
    return out
