"""Subject masks from Volcengine saliency segmentation (CVProcess, req_key saliency_seg), one call per image,
fitted to the segmentation limits on the way in and scaled back to the input size on the way out."""
from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from .api.client import VisualClient
from .imaging.codec import SEGMENT_MAX_BYTES, encode_image
from .imaging.convert import to_uint8
from .api.errors import ServiceError
from .imaging.masks import grow
from .batch import check_images, gather_all
from .specs import SUBJECT_MASK
from .imaging.regions import apply_fit, plan_fit, undo_fit

SALIENCY_MIN_SIDE, SALIENCY_MAX_SIDE = 128, 4096
SALIENCY_MAX_BYTES = SEGMENT_MAX_BYTES  # base64 text <= 4,700,000 characters, the strictest reading of "4.7Mb"
MASK_ASPECT_TOLERANCE = 0.10   # a service rounding sides (to multiples of 8 or 64) changes the aspect a little
MASK_MIN_SCALE = 0.25


def decode_mask(data: bytes) -> np.ndarray:
    """The service's mask PNG -> uint8 [H,W] (255 = subject)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            grey = img.getchannel("A") if img.mode in ("RGBA", "LA") and img.getextrema()[-1][0] < 255 \
                else img.convert("L")
            return np.array(grey, dtype=np.uint8)
    except Exception as exc:
        raise ServiceError(f"The segmentation mask could not be decoded ({type(exc).__name__}).",
                           hint="Run again.") from None


def check_mask_shape(shape: tuple[int, ...], sent_w: int, sent_h: int, request_id: str = "") -> None:
    """A mask of another size is scaled to the sent one only when it plausibly is the same picture: the aspect
    within MASK_ASPECT_TOLERANCE and each side at least MASK_MIN_SCALE of the sent side. A 1x1 mask is an error,
    not a stretched mask."""
    height, width = shape[:2]
    aspect = (width / height) / (sent_w / sent_h)
    if abs(aspect - 1) > MASK_ASPECT_TOLERANCE or width < sent_w * MASK_MIN_SCALE or height < sent_h * MASK_MIN_SCALE:
        raise ServiceError(f"The service returned a {width}x{height} mask for a {sent_w}x{sent_h} image; it was not "
                           "stretched to fit.", hint="Run again; report it if it persists.",
                           request_id=request_id or None)


async def _one(client: VisualClient, index: int, image: np.ndarray, refine: int, grow_px: int,
               out: np.ndarray) -> dict[str, Any]:
    height, width = image.shape[:2]
    plan = plan_fit(width, height, SALIENCY_MIN_SIDE, SALIENCY_MAX_SIDE)
    sent = await asyncio.to_thread(lambda: encode_image(apply_fit(to_uint8(image), plan), SALIENCY_MAX_BYTES))
    started = time.monotonic()
    result = await client.saliency(sent.data, refine_mask=refine)
    mask = decode_mask(result.data)
    if mask.shape != (plan.send_h, plan.send_w):
        check_mask_shape(mask.shape, plan.send_w, plan.send_h, result.request_id)
        mask = np.array(Image.fromarray(mask).resize((plan.send_w, plan.send_h), Image.BILINEAR))
    back = undo_fit(np.repeat(mask[:, :, None], 3, axis=2), plan)[:, :, 0]
    values = back.astype(np.float32) / 255.0
    if grow_px:
        values = grow(values >= 0.5, grow_px).astype(np.float32)
    out[index] = values
    report = {"index": index, "size": [width, height], "sent_size": [plan.send_w, plan.send_h],
              "request_id": result.request_id, "attempts": result.attempts,
              "seconds": round(time.monotonic() - started, 3), "subject_fraction": round(float(values.mean()), 4)}
    if not (values >= 0.5).any():
        report["note"] = "nothing salient was found: the subject mask is empty"
    return report


async def subject_masks(images: np.ndarray, client: VisualClient, *, refine: str = "none", grow_px: int = 0,
                        progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, list[dict]]:
    """images float [B,H,W,C] -> (subject masks float32 [B,H,W] in 0..1, one report per image)."""
    batch, height, width = check_images(images)
    refine_level = SUBJECT_MASK["refine_mask"].parse(refine)
    grow_px = SUBJECT_MASK["grow"].check(grow_px)
    out = np.zeros((batch, height, width), np.float32)
    done = 0

    async def run(i: int) -> dict:
        nonlocal done
        report = await _one(client, i, images[i], refine_level, grow_px, out)
        done += 1
        if progress is not None:
            progress(done, batch)
        return report

    if progress is not None:
        progress(0, batch)  # "sending N calls" before the first answer
    reports = await gather_all(run(i) for i in range(batch))
    return out, reports
