"""Where to crop, how to fit the crop into the service's size limits, and how to paste the result back bit-exactly.

numpy + Pillow only. Work is confined to the crop box; the only full-frame array made is paste_back's output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .codec import MAX_SIDE, MIN_SIDE, resize_mask, resize_rgb
from .convert import sanitize_into
from .decoded import ImageRows
from ..api.errors import InputError

MIN_CONTEXT_SIDE = 128  # a tiny object still gets some surroundings for the model to look at
_BLEND_FLOATS = 1 << 20  # ~4 MB float32 temporaries per blended row chunk


@dataclass(frozen=True)
class Box:
    """Pixel rectangle; x1 / y1 are exclusive."""
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def pad(self, pixels: int, width: int, height: int) -> "Box":
        """Grown by `pixels` on every side, clipped to a width x height image."""
        return Box(max(0, self.x0 - pixels), max(0, self.y0 - pixels),
                   min(width, self.x1 + pixels), min(height, self.y1 + pixels))


def mask_bbox(mask: np.ndarray) -> Box | None:
    """Bounding box of the set pixels of a bool [H,W] mask, or None when nothing is set."""
    rows = np.flatnonzero(np.any(mask, axis=1))
    if rows.size == 0:
        return None
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(np.any(mask[y0:y1], axis=0))  # only the rows that hold the mask
    return Box(int(cols[0]), y0, int(cols[-1]) + 1, y1)


def _context_span(lo: int, hi: int, context: float, limit: int) -> tuple[int, int]:
    """[lo, hi) (may stick out of [0, limit)) enlarged about its centre by `context`, then shifted inside."""
    size = min(limit, max(math.ceil((hi - lo) * context), MIN_CONTEXT_SIDE))
    start = (lo + hi - size) // 2  # floor keeps [lo, hi) inside when size >= hi - lo
    start = min(max(start, 0), limit - size)  # shift, do not clip, so borders keep their context
    return start, start + size


def context_box(mask: np.ndarray, context: float, margin: int) -> Box:
    """The crop to send: bbox of `mask` grown by `margin`, each side scaled by `context` (>= 1), at least
    MIN_CONTEXT_SIDE where the image allows, shifted to lie inside the image (clipped only when larger)."""
    if not context >= 1.0:  # also catches NaN
        raise InputError(f"context must be at least 1.0, got {context}",
                         hint="Set context to 1.0 (just the masked area) or more (e.g. 2.0 = twice as wide and tall).")
    bbox = mask_bbox(mask)
    if bbox is None:
        raise InputError("mask is empty: nothing to erase",
                         hint="Paint the area to erase in the Mask Editor, or check the segmentation mask.")
    height, width = mask.shape
    margin = max(0, int(margin))
    x0, x1 = _context_span(bbox.x0 - margin, bbox.x1 + margin, context, width)
    y0, y1 = _context_span(bbox.y0 - margin, bbox.y1 + margin, context, height)
    return Box(x0, y0, x1, y1)


# ----------------------------------------------------------------------------------------------- fitting

@dataclass(frozen=True)
class FitPlan:
    """How a src_w x src_h crop becomes the send_w x send_h image the service accepts.

    scaled_* is the resized content; pad_x / pad_y (total) are added around it: pad_left / pad_top of them before
    the content, the rest after it (on the right / bottom).
    """
    src_w: int
    src_h: int
    scaled_w: int
    scaled_h: int
    send_w: int
    send_h: int
    pad_x: int
    pad_y: int
    pad_left: int = 0
    pad_top: int = 0


def fit_scale(width: int, height: int, min_side: int = MIN_SIDE, max_side: int = MAX_SIDE) -> float:
    """The scale that brings the long side to <= max_side and the short side to >= min_side, changing no more than
    needed; beyond max_side:min_side aspect the long side wins."""
    long_side, short_side = max(width, height), min(width, height)
    if long_side > max_side:
        return max_side / long_side
    if short_side < min_side:
        return min(min_side / short_side, max_side / long_side)
    return 1.0


def plan_fit(width: int, height: int, min_side: int = MIN_SIDE, max_side: int = MAX_SIDE) -> FitPlan:
    """Scale (aspect kept) so the long side <= max_side and the short side >= min_side, scaling no more than needed.
    Beyond max_side:min_side aspect both cannot hold: the long side wins and the short side is padded."""
    if width < 1 or height < 1:
        raise ValueError(f"cannot fit an image of {width}x{height}")
    scale = fit_scale(width, height, min_side, max_side)
    scaled_w = min(max_side, max(1, round(width * scale)))
    scaled_h = min(max_side, max(1, round(height * scale)))
    send_w, send_h = max(scaled_w, min_side), max(scaled_h, min_side)
    return FitPlan(width, height, scaled_w, scaled_h, send_w, send_h, send_w - scaled_w, send_h - scaled_h)


def _check_plan_input(arr: np.ndarray, plan: FitPlan, name: str) -> None:
    if arr.shape[:2] != (plan.src_h, plan.src_w):
        raise ValueError(f"{name} is {arr.shape[1]}x{arr.shape[0]}, the plan expects {plan.src_w}x{plan.src_h}")


def apply_fit(rgb: np.ndarray, plan: FitPlan) -> np.ndarray:
    """uint8 [src_h,src_w,3] -> uint8 [send_h,send_w,3]: Lanczos resize, pad by edge replication."""
    _check_plan_input(rgb, plan, "image")
    out = resize_rgb(rgb, plan.scaled_w, plan.scaled_h)
    if plan.pad_x or plan.pad_y:
        out = np.pad(out, (*_pads(plan), (0, 0)), mode="edge")
    return out


def _pads(plan: FitPlan) -> tuple[tuple[int, int], tuple[int, int]]:
    return (plan.pad_top, plan.pad_y - plan.pad_top), (plan.pad_left, plan.pad_x - plan.pad_left)


def apply_fit_mask(mask: np.ndarray, plan: FitPlan) -> np.ndarray:
    """bool [src_h,src_w] -> bool [send_h,send_w]: max-pooling / nearest resize, padding never erased."""
    _check_plan_input(mask, plan, "mask")
    out = resize_mask(mask, plan.scaled_w, plan.scaled_h)
    if plan.pad_x or plan.pad_y:
        out = np.pad(out, _pads(plan), mode="constant", constant_values=False)
    return out


def undo_fit(result: np.ndarray, plan: FitPlan) -> np.ndarray:
    """uint8 [send_h,send_w,3] from the service -> uint8 [src_h,src_w,3]: drop the pad, resize back.

    A result of another size (a service rounding its output size) is first resized to send_w x send_h.
    """
    return np.array(undo_fit_image(Image.fromarray(np.ascontiguousarray(result)), plan))


def undo_fit_image(result: Image.Image, plan: FitPlan) -> Image.Image:
    """undo_fit on a decoded Pillow image, giving one: the same pixels without a numpy copy of the whole result."""
    if result.size != (plan.send_w, plan.send_h):
        result = result.resize((plan.send_w, plan.send_h), Image.Resampling.LANCZOS)
    if (plan.scaled_w, plan.scaled_h) != (plan.send_w, plan.send_h):
        result = result.crop((plan.pad_left, plan.pad_top, plan.pad_left + plan.scaled_w,
                              plan.pad_top + plan.scaled_h))
    if result.size != (plan.src_w, plan.src_h):
        result = result.resize((plan.src_w, plan.src_h), Image.Resampling.LANCZOS)
    return result


# ----------------------------------------------------------------------------------------------- paste back

def paste_back(original: np.ndarray, result: np.ndarray | ImageRows, box: Box, weights: np.ndarray,
               out: np.ndarray | None = None, drift: np.ndarray | None = None) -> np.ndarray:
    """A new float32 [H,W,3]: the sanitised original (RGB, NaN -> 0, clipped) everywhere, and inside `box` where
    weights > 0 the blend original*(1-w) + result/255*w. Weight-0 pixels are bit-identical to the sanitised original.

    An empty box (e.g. Box(0, 0, 0, 0) with 0x0 result / weights) gives just the sanitised original. `out`, when
    given (float32 [H,W,3], e.g. a slot of a preallocated batch, not overlapping `original`), is filled and
    returned instead of a new array: that saves a full-frame copy. `drift` (levels per channel, see seam.py) is
    subtracted from the result before blending. `result` may be an ImageRows: it is read a band at a time, and
    every pixel's blend is the same whatever the bands.
    """
    h, w = original.shape[:2]
    if not (0 <= box.x0 <= box.x1 <= w and 0 <= box.y0 <= box.y1 <= h):
        raise ValueError(f"box {box} does not lie inside the {w}x{h} image")
    if result.shape != (box.height, box.width, 3) or weights.shape != (box.height, box.width):
        raise ValueError(f"result {result.shape} / weights {weights.shape} do not match "
                         f"the {box.width}x{box.height} box")
    if out is None:
        out = np.empty((h, w, 3), dtype=np.float32)  # the one full-frame array
    elif out.shape != (h, w, 3) or out.dtype != np.float32:
        raise ValueError(f"out must be float32 {(h, w, 3)}, got {out.dtype} {out.shape}")
    sanitize_into(original, out)
    if box.width == 0 or box.height == 0:
        return out
    region = out[box.slices]
    rows = max(1, _BLEND_FLOATS // (3 * box.width))
    for r0 in range(0, box.height, rows):  # row chunks keep the blend temporaries small
        _blend_rows(region[r0:r0 + rows], result[r0:r0 + rows], weights[r0:r0 + rows], drift)
    return out


def _blend_rows(dst: np.ndarray, result: np.ndarray, weights: np.ndarray, drift: np.ndarray | None) -> None:
    sel = weights > 0  # NaN weights are not > 0 either
    cols = np.flatnonzero(sel.any(axis=0))
    if cols.size == 0:
        return
    c0, c1 = int(cols[0]), int(cols[-1]) + 1  # only the columns that change
    dst, result, weights, sel = dst[:, c0:c1], result[:, c0:c1], weights[:, c0:c1], sel[:, c0:c1]
    wt = np.minimum(weights, np.float32(1.0), dtype=np.float32)[..., None]
    new = result.astype(np.float32)
    if drift is not None:
        new -= np.asarray(drift, np.float32)
        np.clip(new, 0.0, 255.0, out=new)
    new /= np.float32(255.0)
    new *= wt
    blend = np.float32(1.0) - wt
    blend = blend * dst
    blend += new
    # a select, never a multiply-by-zero blend: untouched pixels keep their exact bits
    np.copyto(dst, blend, where=sel[..., None])
