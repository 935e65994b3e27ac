"""Classical stand-ins for the two models behind the stand-in endpoint.

- `inpaint`: the hole is filled by pull-push (multiscale diffusion of the known pixels, O(N) with numpy pyramids)
  plus a small seed-driven texture, so seeds give different but reproducible variants.
- `saliency_mask`: pixels whose colour differs strongly from the border colour, cleaned to the largest blob;
  a centred ellipse when that finds nothing plausible.
Only numpy and Pillow; no scipy/opencv.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np
from PIL import Image, ImageFilter

# Angles of the rectangles whose union approximates a disk (see `dilate`).
_DISK_ANGLES = (10.0, 30.0, 45.0, 60.0, 80.0)
_NOISE_AMPLITUDE = 5.0  # grey levels per pyramid level at strength 1.0


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate a boolean mask by a disk-ish structuring element of `radius` px.

    The disk is approximated by the union of a few centred rectangles; each rectangle is a box sum over one integral
    image, so the cost is O(N) per rectangle whatever the radius. Work is limited to the mask's bounding box."""
    if radius <= 0 or not mask.any():
        return mask.copy()
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    h, w = mask.shape
    y0, y1 = max(rows[0] - radius, 0), min(rows[-1] + radius + 1, h)
    x0, x1 = max(cols[0] - radius, 0), min(cols[-1] + radius + 1, w)
    sub = mask[y0:y1, x0:x1]
    sh, sw = sub.shape
    padded = np.zeros((sh + 2 * radius + 1, sw + 2 * radius + 1), np.int32)
    padded[radius + 1:radius + 1 + sh, radius + 1:radius + 1 + sw] = sub
    integral = padded.cumsum(0, dtype=np.int32).cumsum(1, dtype=np.int32)  # integral[i, j] = sum of sub above-left
    hit = np.zeros((sh, sw), bool)
    for a, b in sorted({(round(radius * math.cos(math.radians(t))), round(radius * math.sin(math.radians(t))))
                        for t in _DISK_ANGLES}):
        top, bot, left, right = radius - b, radius + b + 1, radius - a, radius + a + 1
        box = (integral[bot:bot + sh, right:right + sw] - integral[top:top + sh, right:right + sw]
               - integral[bot:bot + sh, left:left + sw] + integral[top:top + sh, left:left + sw])
        hit |= box > 0
    out = mask.copy()
    out[y0:y1, x0:x1] = hit
    return out


def inpaint(image: np.ndarray, hole: np.ndarray, seed: int, strength: float = 0.8) -> np.ndarray:
    """Fill `hole` (bool HxW) in `image` (uint8 HxWx3) from the surrounding pixels; deterministic for a seed."""
    out = image.copy()
    if not hole.any():
        return out
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    h, w = hole.shape
    # Only a window around the hole takes part: the fill only looks at nearby known pixels anyway.
    margin = max(32, (rows[-1] - rows[0] + cols[-1] - cols[0]) // 4)
    y0, y1 = max(rows[0] - margin, 0), min(rows[-1] + margin + 1, h)
    x0, x1 = max(cols[0] - margin, 0), min(cols[-1] + margin + 1, w)
    window, sub_hole = out[y0:y1, x0:x1], hole[y0:y1, x0:x1]
    rng = np.random.default_rng(seed)
    fill = _pull_push(window, ~sub_hole, rng, _NOISE_AMPLITUDE * strength)
    np.copyto(window, fill, where=sub_hole[..., None])
    return out


def _even(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        a = np.pad(a, [(0, h % 2), (0, w % 2)] + [(0, 0)] * (a.ndim - 2))
    return a


def _half(a: np.ndarray) -> np.ndarray:
    """Sum of each 2x2 block (odd sizes padded with zeros); uint8 input is summed exactly in uint16."""
    a = _even(a)
    dtype = np.uint16 if a.dtype in (np.uint8, np.bool_) else np.float32
    s = np.add(a[0::2, 0::2], a[1::2, 0::2], dtype=dtype)
    s += a[0::2, 1::2]
    s += a[1::2, 1::2]
    return s.astype(np.float32, copy=False)


def _upsample(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear x2 (pixel centres aligned, edges clamped) to exactly h x w, per channel in Pillow's C code."""
    box = (0, 0, w / 2, h / 2)
    channels = [np.asarray(Image.fromarray(a[..., c], "F").resize((w, h), Image.BILINEAR, box=box))
                for c in range(a.shape[2])]
    return np.stack(channels, -1)


def _pull_push(image: np.ndarray, known: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Pull: average known colour down a pyramid. Push: fill each level's gaps from the coarser level, plus noise."""
    h, w = known.shape
    colour = _half(image * known[..., None])  # level 1: premultiplied sums, exact
    weight = _half(known)
    levels = []
    while True:
        alpha = np.minimum(weight, 1.0)
        mean = colour / np.maximum(weight, 1e-6)[..., None]
        levels.append((mean, alpha))
        if max(weight.shape) <= 1:
            break
        colour, weight = _half(mean * alpha[..., None]), _half(alpha)
    mean, alpha = levels[-1]
    result = np.where(alpha[..., None] > 0, mean, 128.0).astype(np.float32)  # nothing known at all: mid grey
    for mean, alpha in reversed(levels[:-1]):
        lh, lw = alpha.shape
        coarse = _upsample(result, lh, lw)
        coarse += rng.standard_normal((lh, lw, 1), dtype=np.float32) * amplitude
        mean -= coarse  # result = alpha * mean + (1 - alpha) * coarse, in place
        mean *= alpha[..., None]
        coarse += mean
        result = coarse
    small = Image.fromarray(np.clip(result + 0.5, 0, 255).astype(np.uint8), "RGB")
    return np.asarray(small.resize((w, h), Image.BILINEAR, box=(0, 0, w / 2, h / 2)))


# --- saliency ------------------------------------------------------------------------------------------------------

_SALIENCY_SIDE = 160  # the analysis runs on a thumbnail of at most this many px per side


def saliency_mask(image: Image.Image, refine: int = 0) -> np.ndarray:
    """Full-size uint8 mask, 255 = subject. refine 1/2 soften the edge lightly/heavily (like matting would)."""
    width, height = image.size
    scale = min(1.0, _SALIENCY_SIDE / max(width, height))
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(image.convert("RGB").resize(small_size, Image.BILINEAR), np.float32)
    subject = _subject(small)
    if subject is None:
        subject = _ellipse(*small.shape[:2])
    mask = Image.fromarray(subject.astype(np.uint8) * 255).resize((width, height), Image.BILINEAR)
    mask = mask.point(lambda v: 255 if v > 127 else 0)
    if refine:
        mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, max(width, height) / 400) * (1 if refine == 1 else 3)))
    return np.asarray(mask, np.uint8)


def _subject(small: np.ndarray) -> np.ndarray | None:
    """Largest blob that differs from the border colour, holes filled; None when it is implausibly small/large."""
    h, w = small.shape[:2]
    band = max(1, round(min(h, w) * 0.04))
    border = np.concatenate([small[:band].reshape(-1, 3), small[-band:].reshape(-1, 3),
                             small[:, :band].reshape(-1, 3), small[:, -band:].reshape(-1, 3)])
    reference = np.median(border, axis=0)
    distance = np.sqrt(((small - reference) ** 2).sum(-1))
    border_spread = np.percentile(np.sqrt(((border - reference) ** 2).sum(-1)), 90)
    threshold = max(_otsu(distance), border_spread * 1.5, 30.0)
    blob = _largest_component(distance > threshold)
    if blob is None:
        return None
    blob = _fill_holes(blob)
    if not 0.005 <= blob.mean() <= 0.9:
        return None
    return blob


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=64)
    centres = (edges[:-1] + edges[1:]) / 2
    total = hist.sum()
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * centres)
    w1 = total - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (m0[-1] * w0 / total - m0) ** 2 / (w0 * w1)
    between = np.nan_to_num(between)
    return float(centres[int(np.argmax(between))])


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected labels (0 = background) by breadth-first search; fine on a thumbnail."""
    h, w = mask.shape
    labels = np.zeros(h * w, np.int32)
    flat = mask.ravel()
    count = 0
    for start in np.flatnonzero(flat):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        queue = deque([int(start)])
        while queue:
            p = queue.popleft()
            y, x = divmod(p, w)
            for q, ok in ((p - w, y > 0), (p + w, y < h - 1), (p - 1, x > 0), (p + 1, x < w - 1)):
                if ok and flat[q] and not labels[q]:
                    labels[q] = count
                    queue.append(q)
    return labels.reshape(h, w), count


def _largest_component(mask: np.ndarray) -> np.ndarray | None:
    labels, count = _components(mask)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def _fill_holes(blob: np.ndarray) -> np.ndarray:
    labels, _ = _components(~blob)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return blob | ~np.isin(labels, edge)


def _ellipse(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return ((yy - (h - 1) / 2) / (h * 0.35)) ** 2 + ((xx - (w - 1) / 2) / (w * 0.3)) ** 2 <= 1.0
