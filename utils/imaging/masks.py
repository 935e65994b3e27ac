"""Mask handling: match masks to the image batch, binarise, grow/shrink by a disk, and build paste-back weights.

numpy + Pillow only. Morphology is an exact Euclidean disk computed in O(1) passes per radius (no O(r^2) shifts):
  1. per row, the distance g to the nearest set pixel (two running max/min scans along the row);
  2. a pixel is within r of the set iff some y' in its column has |y - y'| <= floor(sqrt(r^2 - g(y')^2)), i.e.
     max over y' of (halfheight(y') - |y - y'|) >= 0: a max-plus "cone", two running maxima down the columns
     (done row by row: one vectorised op per row is ~10x faster than numpy's accumulate along axis 0).
Everything runs on the mask's bounding box padded by the radius only.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from ..api.errors import InputError
from .regions import Box, mask_bbox

FEATHER_LEVELS = 4  # disk levels averaged into the feather ramp; a box blur turns the staircase into a slope
_PLACEHOLDER_SIZE = (64, 64)


# ----------------------------------------------------------------------------------------------- batch / size

def _mask_stack(mask: np.ndarray) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or 0 in m.shape:
        raise InputError(f"mask has shape {m.shape}, not [batch, height, width]",
                         hint="Connect a MASK output (Load Image's MASK or a segmentation node).")
    return m


def _is_placeholder(m: np.ndarray, height: int, width: int) -> bool:
    """Load Image's 64x64 all-zero mask for an image without alpha: nobody painted anything."""
    return m.shape[1:] == _PLACEHOLDER_SIZE != (height, width) and not np.any(m > 0)  # NaN > 0 is False


def _check_size(m: np.ndarray, height: int, width: int) -> None:
    h, w = m.shape[1:]
    if (h, w) != (height, width) and abs((w / h) / (width / height) - 1.0) > 0.01:
        raise InputError(f"mask is {w}x{h} but image is {width}x{height} (another aspect ratio)",
                         hint="Use a mask made from this image, or resize/crop the mask to the image size.")


def _sanitize(a: np.ndarray) -> np.ndarray:
    np.fmax(a, 0.0, out=a)  # NaN -> 0
    np.fmin(a, 1.0, out=a)
    return a


def align_masks(mask: np.ndarray, batch: int, height: int, width: int) -> np.ndarray:
    """float [B,h,w] or [h,w] -> float32 [batch,height,width] in 0..1 (NaN -> 0).

    One mask is broadcast over the batch (returned as a read-only broadcast view, no per-image copies);
    equal batch sizes pair up. Same-aspect masks (within 1%) are resized bilinearly; anything else is an InputError,
    except Load Image's empty 64x64 placeholder, which becomes an empty mask of the image's size.
    """
    m = _mask_stack(mask)
    count = m.shape[0]
    if count not in (1, batch):
        raise InputError(f"mask batch has {count} masks but the image batch has {batch} images",
                         hint="Use one mask for all images or one mask per image.")
    if _is_placeholder(m, height, width):  # an empty mask of the image's size: on_empty_mask decides what happens
        return np.broadcast_to(np.zeros((1, 1, 1), np.float32), (batch, height, width))
    _check_size(m, height, width)
    if m.shape[1:] == (height, width) and m.dtype == np.float32 and m.min() >= 0.0 and m.max() <= 1.0:
        # Already clean (NaN fails both tests): use it as it is; nothing downstream writes into masks.
        return np.broadcast_to(m, (batch, height, width)) if count != batch else m
    out = np.empty((count, height, width), dtype=np.float32)
    for i in range(count):
        if m.shape[1:] == (height, width):
            np.copyto(out[i], m[i], casting="unsafe")
            _sanitize(out[i])
            continue
        small = _sanitize(np.array(m[i], dtype=np.float32))  # clean before resizing so NaN cannot spread
        img = Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)
        out[i] = np.asarray(img)
        _sanitize(out[i])
    if count == 1 and batch != 1:
        return np.broadcast_to(out, (batch, height, width))
    return out


# ----------------------------------------------------------------------------------------------- simple tests

def binarize(mask: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """value >= threshold -> True (erase); NaN -> False."""
    return np.asarray(mask) >= threshold


def is_empty(mask: np.ndarray) -> bool:
    """True when no pixel is set (bool) or above 0 (numbers; NaN counts as 0)."""
    m = np.asarray(mask)
    return not (m.any() if m.dtype == bool else np.any(m > 0))


# ----------------------------------------------------------------------------------------------- morphology

def _int_type(shape: tuple[int, int], cap: int) -> type:
    return np.int16 if max(shape) + 2 * cap + 8 < np.iinfo(np.int16).max else np.int32


def _scan_down(a: np.ndarray, op: np.ufunc, reverse: bool = False) -> None:
    """In-place running `op` along axis 0, one vectorised op per row (numpy's accumulate is slow on axis 0)."""
    rows = range(a.shape[0] - 2, -1, -1) if reverse else range(1, a.shape[0])
    step = 1 if reverse else -1
    for y in rows:
        op(a[y + step], a[y], out=a[y])


def _row_distance(a: np.ndarray, cap: int) -> np.ndarray:
    """Per pixel, distance to the nearest set pixel in its row, capped at cap + 1."""
    w = a.shape[1]
    dt = _int_type(a.shape, cap)
    cols = np.arange(w, dtype=dt)
    left = np.full(a.shape, -(cap + 1), dtype=dt)  # column of the last set pixel at or left of x
    np.copyto(left, cols, where=a)
    np.maximum.accumulate(left, axis=1, out=left)
    np.subtract(cols, left, out=left)
    right = np.full(a.shape, w + cap, dtype=dt)  # column of the first set pixel at or right of x
    np.copyto(right, cols, where=a)
    rev = right[:, ::-1]
    np.minimum.accumulate(rev, axis=1, out=rev)
    np.subtract(right, cols, out=right)
    np.minimum(left, right, out=left)
    np.minimum(left, cap + 1, out=left)
    return left


def _within(g: np.ndarray, cap: int, radius: float) -> np.ndarray:
    """bool: pixels within Euclidean `radius` of a set pixel, given g = _row_distance(mask, cap), cap >= radius."""
    dt = g.dtype
    v = np.arange(cap + 2, dtype=np.float64)  # g <= cap + 1
    half = np.where(v <= radius, np.floor(np.sqrt(np.maximum(radius * radius - v * v, 0.0)) + 1e-9), -1)
    span = half.astype(dt)[g]  # half-height of the disk chord each pixel gives its column
    rows = np.arange(g.shape[0], dtype=dt)[:, None]
    tmp = np.add(span, rows)
    _scan_down(tmp, np.maximum)  # max over y' <= y of (half(y') + y')
    hit = tmp >= rows
    np.subtract(span, rows, out=tmp)
    _scan_down(tmp, np.maximum, reverse=True)  # max over y' >= y of (half(y') - y')
    np.negative(rows, out=rows)
    hit |= tmp >= rows
    return hit


def _dilate(a: np.ndarray, radius: int) -> np.ndarray:
    if _is_tall(a):
        return _dilate(a.T, radius).T
    radius = min(radius, a.shape[0] + a.shape[1])  # farther than the region's diagonal changes nothing
    return _within(_row_distance(a, radius), radius, radius)


def _is_tall(a: np.ndarray) -> bool:
    """The column scans loop over rows in Python: a tall, narrow region is cheaper transposed (disks are symmetric)."""
    return a.shape[0] > 4 * a.shape[1]


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """bool [H,W] dilated (pixels > 0) or eroded (pixels < 0) by a Euclidean disk of radius |pixels|.

    Erosion treats the outside of the image as set, so a mask touching the border stays on the border.
    Non-bool masks are binarised at 0.5 first; 0 returns a copy.
    """
    m = np.asarray(mask)
    m = m.copy() if m.dtype == bool else binarize(m)
    pixels = int(pixels)
    bbox = mask_bbox(m)
    if pixels == 0 or bbox is None:
        return m
    r = abs(pixels)
    box = bbox.pad(r, m.shape[1], m.shape[0])  # everything the disk can reach, or that can reach the mask
    sub = m[box.slices]
    out = np.zeros_like(m)
    # erosion = complement of the dilated complement; outside the box counts as set, like outside the image
    out[box.slices] = _dilate(sub, r) if pixels > 0 else ~_dilate(~sub, r)
    return out


# ----------------------------------------------------------------------------------------------- paste weights

def _window_sums(a: np.ndarray, width: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums over `width` consecutive pixels (offsets -width//2 .. width-1-width//2) along `axis`, inside the array,
    and the number of pixels each window holds: two slices of a cumulative sum padded at both ends.

    Unsigned cumulative sums may wrap around: differences stay exact while the window sums fit the type."""
    n, lo = a.shape[axis], width // 2
    shape = (n + width + 1, a.shape[1]) if axis == 0 else (a.shape[0], n + width + 1)
    csum = np.empty(shape, dtype=a.dtype)

    def at(start: int, stop: int | None) -> np.ndarray:
        return csum[start:stop] if axis == 0 else csum[:, start:stop]

    at(0, lo + 1)[...] = 0
    body = at(lo + 1, lo + 1 + n)
    body[...] = a
    if axis == 0:
        _scan_down(at(lo, lo + 1 + n), np.add)
    else:
        np.cumsum(body, axis=1, out=body)
    at(lo + 1 + n, None)[...] = at(lo + n, lo + 1 + n)  # past the end: the total
    sums = at(width, width + n) - at(0, n)
    i = np.arange(n)
    return sums, np.minimum(i + width - lo, n) - np.maximum(i - lo, 0)


def _box_mean(a: np.ndarray, width: int, top: int) -> np.ndarray:
    """float32 mean over a width x width window inside the array; `top` bounds the values of `a`."""
    dt = np.uint16 if top * width * width < np.iinfo(np.uint16).max else np.uint32
    sums, rows = _window_sums(a.astype(dt), width, 0)
    sums, cols = _window_sums(sums, width, 1)
    out = sums.astype(np.float32)
    out /= rows.astype(np.float32)[:, None]
    out /= cols.astype(np.float32)[None, :]
    return out


def _ramp(core: np.ndarray, feather: int) -> np.ndarray:
    """float32 weights on a region: 1 on core, falling ~linearly with the distance d to core, 0 where d > feather.

    A staircase of `levels` exact disks blurred by a box one step wide is a linear ramp; the steps are spaced so
    that even the box's diagonal reach ends within `feather`, which keeps the support exact without another pass.
    """
    if _is_tall(core):
        return _ramp(core.T, feather).T
    levels = min(feather, FEATHER_LEVELS)
    width = max(1, round(feather / (levels + 0.75)))
    step = (feather - math.sqrt(2.0) * (width // 2)) / levels
    g = _row_distance(core, feather)
    steps = np.zeros(core.shape, dtype=np.uint8)
    for j in range(levels):
        steps += _within(g, feather, (j + 0.5) * step)
    if width > 1:
        w = _box_mean(steps, width, levels)
        w /= np.float32(levels)
    else:
        w = steps.astype(np.float32)
        w /= np.float32(levels)
    w[core] = 1.0
    return w


def paste_weights(mask: np.ndarray, dilate: int, feather: int) -> np.ndarray:
    """float32 [H,W] in 0..1: exactly 1 on grow(mask, dilate) (what the service may change), falling smoothly to 0
    over `feather` px outward, 0 beyond. feather <= 0 gives hard 0/1 weights."""
    core = grow(mask, dilate)
    out = np.zeros(core.shape, dtype=np.float32)
    bbox = mask_bbox(core)
    if bbox is None:
        return out
    if feather <= 0:
        out[core] = 1.0
        return out
    box: Box = bbox.pad(int(feather), core.shape[1], core.shape[0])
    out[box.slices] = _ramp(core[box.slices], int(feather))
    return out
