"""Sizes the service is sent and answers with.

Sent sides are multiples of 64: a latent-space model that rounds its output size to a multiple of 8 or 64 then gives
back exactly what it got. The crop box grows or shrinks inside the image to get there (never losing the part the
paste-back needs); only where the image itself is too small is the sent picture padded.

No document promises a result of the sent size, so a result of another size is accepted when it is plausibly the
same picture: each side rounded to a multiple of 8..64, or the whole picture rescaled (aspect within 10%).
"""
from __future__ import annotations

import math

from .codec import MAX_SIDE, MIN_SIDE
from .regions import Box, FitPlan, fit_scale
from ..api.errors import ServiceError

SIDE_MULTIPLE = 64
ROUNDINGS = (8, 16, 32, 64)   # multiples a model may round a side to
ASPECT_TOLERANCE = 0.10       # a rescaled result may differ this much in aspect
SCALE_RANGE = (1 / 8, 4.0)    # a side far outside this is not a rescaled copy of what was sent


def _snap_axis(lo: int, hi: int, need_lo: int, need_hi: int, limit: int, scale: float,
               pad_before: bool) -> tuple[int, int, int, int, int]:
    """One axis of the box: (lo, hi, scaled, sent, pad before the content).

    Of the multiples of 64 just above and below the scaled side, the nearer one whose source span still holds
    [need_lo, need_hi) and fits in [0, limit) wins; the span keeps its centre as far as those allow.
    Neither fits: the whole image side, padded up to the next multiple."""
    ideal = (hi - lo) * scale
    up = min(MAX_SIDE, max(MIN_SIDE, math.ceil(ideal / SIDE_MULTIPLE - 1e-9) * SIDE_MULTIPLE))
    down = max(MIN_SIDE, math.floor(ideal / SIDE_MULTIPLE + 1e-9) * SIDE_MULTIPLE)
    for sent in sorted({up, down}, key=lambda t: (abs(t - ideal), -t)):
        span = sent if scale == 1.0 else round(sent / scale)
        if need_hi - need_lo <= span <= limit:
            start = (lo + hi - span) // 2
            start = min(max(start, need_hi - span, 0), need_lo, limit - span)
            return start, start + span, sent, sent, 0
    scaled = max(1, min(MAX_SIDE, round(limit * scale)))
    sent = min(MAX_SIDE, max(MIN_SIDE, math.ceil(scaled / SIDE_MULTIPLE) * SIDE_MULTIPLE))
    return 0, limit, scaled, sent, (sent - scaled) if pad_before else 0


def snap_fit(box: Box, need: Box, width: int, height: int,
             pad_before: tuple[bool, bool] = (False, False)) -> tuple[Box, FitPlan]:
    """`box` (inside a width x height image, holding `need`) moved and resized so the picture sent has sides that
    are multiples of 64 within 64..4096, and the plan that makes it. pad_before (x, y): where padding is needed,
    put it before the content (left / top), so the content keeps the sent picture's right / bottom edge."""
    scale = fit_scale(box.width, box.height)
    x0, x1, scaled_w, send_w, left = _snap_axis(box.x0, box.x1, need.x0, need.x1, width, scale, pad_before[0])
    y0, y1, scaled_h, send_h, top = _snap_axis(box.y0, box.y1, need.y0, need.y1, height, scale, pad_before[1])
    plan = FitPlan(x1 - x0, y1 - y0, scaled_w, scaled_h, send_w, send_h, send_w - scaled_w, send_h - scaled_h,
                   left, top)
    return Box(x0, y0, x1, y1), plan


def _rounded(got: int, sent: int) -> bool:
    return any(got in (sent // m * m, -(-sent // m) * m, round(sent / m) * m) for m in ROUNDINGS)


def check_result_size(got_w: int, got_h: int, send_w: int, send_h: int) -> str | None:
    """None when the result has the sent size; a report note when it has another plausible size (it is then
    resized back); ServiceError when it cannot be the picture that was sent."""
    if (got_w, got_h) == (send_w, send_h):
        return None
    rounded = _rounded(got_w, send_w) and _rounded(got_h, send_h)
    aspect = abs(math.log((got_w / got_h) / (send_w / send_h))) <= math.log1p(ASPECT_TOLERANCE)
    low, high = SCALE_RANGE
    scaled = all(low <= got / sent <= high for got, sent in ((got_w, send_w), (got_h, send_h)))
    if not (scaled and (rounded or aspect)):
        raise ServiceError(f"The service returned a {got_w}x{got_h} image for a {send_w}x{send_h} request, which "
                           "is not a resized copy of it, so it cannot be pasted back.",
                           hint="Run again; report it if it persists.")
    return f"result {got_w}x{got_h} resized to {send_w}x{send_h}"
