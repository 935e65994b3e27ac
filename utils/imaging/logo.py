"""The watermark (`logo_info`): the service stamps it into a corner of the picture it receives.

Paste-back keeps only what the mask covers, so a mark stamped at a crop's corner would be lost, or (paste-back off)
land mid-image. So with a mark asked for, the crop is extended to the requested corner of the full image: the
service stamps its own mark onto the image's real corner pixels, nothing has to be redrawn or moved, and paste-back
keeps the mark's block as well as the erased area. To find that block, the result's corner is compared with the
picture sent, away from the mask (where the model may change things): the mark is a dense cluster of clearly
changed pixels. Everything outside the erased area and that block stays bit-exact.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .masks import grow, paste_weights
from .regions import Box, FitPlan

CORNERS = ("bottom-right", "bottom-left", "top-left", "top-right")  # logo_info.position 0..3
WINDOW_FRACTION = 0.5   # the mark is looked for in this much of each side of the corner...
MIN_WINDOW = 128        # ...but at least this many px
NEIGHBOURHOOD = 2       # changes are averaged over 5x5 px
MIN_STEP = 4.0          # levels (averaged): weaker changes are compression noise, not a mark...
NOISE_FACTOR = 2.5      # ...and so are changes within this factor of the window's typical change
MIN_PIXELS = 24
BLOCK_MARGIN = 3        # px around the changed pixels: anti-aliased edges and compression ringing
BLOCK_FEATHER = 4       # px of soft edge around the kept block


def on_right_bottom(position: int) -> tuple[bool, bool]:
    """(right, bottom) edges of corner `position`: 0 bottom-right, 1 bottom-left, 2 top-left, 3 top-right."""
    return position in (0, 3), position in (0, 1)


def reach_corner(box: Box, position: int, width: int, height: int) -> Box:
    """`box` extended to the image corner `position`."""
    right, bottom = on_right_bottom(position)
    return Box(box.x0 if right else 0, box.y0 if bottom else 0, width if right else box.x1,
               height if bottom else box.y1)


@dataclass
class Probe:
    """What finding the mark needs: the corner window (in sent pixels), the picture sent there, and where the
    service may have changed things anyway (near the mask)."""
    position: int
    window: Box
    sent: np.ndarray     # uint8 [h,w,3]
    ignore: np.ndarray   # bool [h,w]


def probe(sent: np.ndarray, sent_mask: np.ndarray, position: int, radius: int) -> Probe:
    """sent: uint8 [H,W,3] picture as sent; sent_mask: bool [H,W] as sent; radius: px around the mask the service
    may change (its dilation, the feather and some drift)."""
    height, width = sent_mask.shape
    right, bottom = on_right_bottom(position)
    ww = min(width, max(MIN_WINDOW, math.ceil(width * WINDOW_FRACTION)))
    wh = min(height, max(MIN_WINDOW, math.ceil(height * WINDOW_FRACTION)))
    x0, y0 = (width - ww if right else 0), (height - wh if bottom else 0)
    window = Box(x0, y0, x0 + ww, y0 + wh)
    near = window.pad(radius, width, height)  # mask pixels this close to the window reach into it when grown
    ignore = grow(sent_mask[near.slices], radius)
    ignore = ignore[y0 - near.y0: y0 - near.y0 + wh, x0 - near.x0: x0 - near.x0 + ww]
    return Probe(position, window, np.ascontiguousarray(sent[window.slices]), ignore)


def _box_mean(a: np.ndarray, r: int) -> np.ndarray:
    """Mean over each (2r+1)^2 neighbourhood (zeros beyond the edges), by one integral image."""
    c = np.pad(a.astype(np.float64), ((r + 1, r), (r + 1, r))).cumsum(0).cumsum(1)
    k = 2 * r + 1
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)


def find_mark(result: np.ndarray, found: Probe, drift: np.ndarray | None = None) -> Box | None:
    """The mark's block in sent pixels (inside the window), or None when the corner holds no mark.

    result: uint8 [H,W,3] at the sent size; drift: the result's colour drift (levels), left out of the comparison.
    The change is averaged over the channels (compression noise partly cancels, a light or dark mark does not)
    and over a small neighbourhood (noise is speckle, a mark is strokes); the mark is what stands out from the
    window's typical change."""
    change = (result[found.window.slices].astype(np.float32) - found.sent).mean(axis=2)
    if drift is not None:
        change -= float(np.mean(drift))
    local = _box_mean(np.abs(change), NEIGHBOURHOOD)
    valid = ~found.ignore
    if np.count_nonzero(valid) < MIN_PIXELS:
        return None
    threshold = max(MIN_STEP, NOISE_FACTOR * float(np.median(local[valid])))
    strong = (local >= threshold) & valid
    if np.count_nonzero(strong) < MIN_PIXELS:
        return None
    rows = _busiest_run(strong.sum(axis=1), gap=2, share=0.05)  # a descender's rows are thin
    cols = _busiest_run(strong[rows[0]:rows[1]].sum(axis=0), gap=max(8, rows[1] - rows[0]), share=0.1)  # spaces
    block = Box(cols[0], rows[0], cols[1], rows[1]).pad(BLOCK_MARGIN, *strong.shape[::-1])
    w = found.window
    return Box(w.x0 + block.x0, w.y0 + block.y0, w.x0 + block.x1, w.y0 + block.y1)


def _busiest_run(counts: np.ndarray, gap: int, share: float) -> tuple[int, int]:
    """[start, stop) of the run of busy lines (at least `share` of the busiest, and 4 pixels) around the busiest
    line, bridging quiet stretches up to `gap` long: the mark's rows or columns without stray noisy pixels."""
    busy = counts >= max(4, share * counts.max())
    peak = int(np.argmax(counts))
    start = stop = peak
    while True:
        ahead = np.flatnonzero(busy[stop + 1: stop + 2 + gap])
        behind = np.flatnonzero(busy[max(0, start - 1 - gap): start][::-1])
        if not ahead.size and not behind.size:
            return start, stop + 1
        stop += int(ahead[0]) + 1 if ahead.size else 0
        start -= int(behind[0]) + 1 if behind.size else 0


def to_crop(block: Box, plan: FitPlan) -> Box | None:
    """A block in sent pixels -> the same block in the crop's pixels (padding dropped); None if only padding."""
    fx, fy = plan.src_w / plan.scaled_w, plan.src_h / plan.scaled_h

    def span(lo: int, hi: int, pad: int, factor: float, limit: int) -> tuple[int, int]:
        return (min(limit, max(0, math.floor((lo - pad) * factor))),
                min(limit, max(0, math.ceil((hi - pad) * factor))))

    x0, x1 = span(block.x0, block.x1, plan.pad_left, fx, plan.src_w)
    y0, y1 = span(block.y0, block.y1, plan.pad_top, fy, plan.src_h)
    return Box(x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def block_weights(block: Box, shape: tuple[int, int], feather: int = BLOCK_FEATHER) -> np.ndarray:
    """float32 `shape`: 1 on the block, a soft edge of `feather` px around it, 0 elsewhere."""
    inside = np.zeros(shape, bool)
    inside[block.slices] = True
    return paste_weights(inside, 0, feather)


def keep_mark(result: np.ndarray, found: Probe, drift: np.ndarray | None, plan: FitPlan, crop: Box,
              weights: np.ndarray) -> tuple[np.ndarray, str]:
    """The paste-back weights of `crop` extended by the mark's block (when the result holds one), and a note."""
    block = find_mark(result, found, drift)
    block = to_crop(block, plan) if block is not None else None
    corner = CORNERS[found.position]
    if block is None:
        return weights, f"no watermark found in the {corner} corner of the result"
    x0, y0 = crop.x0 + block.x0, crop.y0 + block.y0
    return (np.maximum(weights, block_weights(block, weights.shape)),
            f"watermark kept in the {corner} corner at [{x0}, {y0}, {x0 + block.width}, {y0 + block.height}]")
