"""Erase a batch: align masks, choose the region, fit it to the API, call it per variant, paste results back.

ComfyUI-free (numpy in, numpy out) so the node, the CLI and the benchmarks share this one code path.
"""
from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from PIL import Image

from .api.client import InpaintOptions, VisualClient
from .heap import release_memory
from .imaging.codec import encode_image_with, encode_mask
from .imaging.convert import Converting, sanitize_into, to_uint8
from .imaging.decoded import ImageRows, open_image
from .imaging import logo as watermark
from .imaging.seam import colour_drift, drift_band, sample_band
from .imaging.sizing import check_result_size, snap_fit
from .api.errors import InputError, ServiceError, VolcError
from .api.errors import NEW_SEED_CODES
from .batch import check_images, gather_all
from .specs import ERASE, MAX_SEED
from .imaging.masks import align_masks, binarize, grow, is_empty, paste_weights
from .imaging.regions import (Box, FitPlan, apply_fit, apply_fit_mask, context_box, mask_bbox, paste_back,
                               undo_fit_image)
from .paste_masks import PasteMasks

DRIFT_ALLOWANCE = 6  # sent px beyond dilation + feather where a model may still have changed a little
CONVERT_ALONGSIDE = 1 << 21  # px: from here on the float->uint8 conversion pays for a thread of its own


@dataclass(frozen=True)
class EraseSettings:
    options: InpaintOptions = field(default_factory=InpaintOptions)
    variants: int = 1
    mask_grow: int = 0
    feather: int = 8
    crop: bool = True
    context: float = 2.0
    paste_back: bool = True
    ghost_retries: int = 2
    on_ghost_face: Literal["error", "original"] = "error"
    on_item_error: Literal["error", "original"] = "error"
    on_empty_mask: Literal["original", "error"] = "original"

    def validate(self) -> None:
        """Every value checked with its widget's name and range (utils/specs.py); raises InputError before any call."""
        o = self.options
        for name, value in [("steps", o.steps), ("seed", o.seed), ("dilate_size", o.dilate_size),
                            ("variants", self.variants), ("mask_grow", self.mask_grow), ("feather", self.feather),
                            ("ghost_face_retries", self.ghost_retries)]:
            ERASE[name].check(value)
            if not isinstance(value, int):  # 7.0 would reach the API as 7.0, which it rejects; nodes convert
                raise InputError(f"{name} is {value!r}, not a whole number.", hint=f"Set {name} to a whole number.")
        for name, value in [("strength", o.strength), ("scale", o.scale), ("context", self.context),
                            ("quality", o.quality), ("return_url", o.return_url), ("crop_to_mask", self.crop),
                            ("paste_back", self.paste_back)]:
            ERASE[name].check(value)
        ERASE["on_ghost_face"].check_value(self.on_ghost_face)
        ERASE["on_item_error"].check_value(self.on_item_error)
        ERASE["on_empty_mask"].check_value(self.on_empty_mask)


@dataclass
class Prepared:
    """One image ready to send: what goes over the wire and what paste-back needs."""
    index: int
    box: Box
    plan: FitPlan
    image_bytes: bytes
    mask_bytes: bytes
    region: np.ndarray | None     # bool mask inside box: what paste_weights grows and feathers (dropped after)
    dilate: int                   # the service's dilation in source pixels
    report: dict[str, Any]
    weights: np.ndarray | None = None  # computed by _weights while the calls are in flight
    band: tuple[np.ndarray, np.ndarray] | None = None  # where the result's colour drift is measured (seam.py), ditto
    mark: watermark.Probe | None = None  # where to look for the watermark, when one was asked for


@dataclass
class EraseOutput:
    images: np.ndarray            # float32 [B * variants, H, W, 3]
    masks: np.ndarray             # float32 [B * variants, H, W]: paste-back weights actually used (the variants
                                  # of one image may share one plane: paste_masks.py)
    reports: list[dict[str, Any]]
    skipped: list[int] = field(default_factory=list)  # images returned unchanged: nothing was painted on them


def _which(i: int, batch: int) -> str:
    return "the image" if batch == 1 else f"image {i + 1} of {batch}"


def nothing_painted(i: int, batch: int) -> InputError:
    """The error for an empty mask when on_empty_mask is "error" (Load Image's placeholder included)."""
    where = "" if batch == 1 else f" on image {i + 1} of {batch}"
    return InputError(f"Nothing is painted{where}", hint="Open the image in the Mask Editor and paint what should go.",
                      detail="Set on_empty_mask to 'return original' to pass unpainted images through unchanged.")


def variant_seeds(seed: int, variants: int) -> list[int]:
    if seed == -1:
        return [random.randint(0, MAX_SEED) for _ in range(variants)]
    return [(seed + v) % (MAX_SEED + 1) for v in range(variants)]


def _mark_corner(settings: EraseSettings) -> int | None:
    """The watermark's corner when a visible one was asked for."""
    logo = settings.options.logo_info
    return logo.position if logo is not None and logo.add_logo and logo.opacity > 0 else None


def _place(wanted: np.ndarray, settings: EraseSettings, corner: int | None) -> tuple[Box, FitPlan, float]:
    """The crop to send, how it is fitted (sides multiples of 64), and source pixels per sent pixel."""
    height, width = wanted.shape
    dilate, scale, full, bbox = settings.options.dilate_size, 1.0, Box(0, 0, width, height), mask_bbox(wanted)
    for _ in range(2):  # the service dilates in sent pixels: the margin grows with the downscale factor
        margin = math.ceil((dilate + settings.feather) * scale) + 2
        box, need = full, full
        if settings.crop:
            box, need = context_box(wanted, settings.context, margin), bbox.pad(margin, width, height)
        if corner is not None:  # the service stamps the mark into the sent corner: make that the image's corner
            box, need = (watermark.reach_corner(b, corner, width, height) for b in (box, need))
        box, plan = snap_fit(box, need, width, height, watermark.on_right_bottom(corner) if corner is not None
                             else (False, False))
        scale = max(1.0, box.width / plan.scaled_w, box.height / plan.scaled_h)
    return box, plan, scale


def _prepare(index: int, image: np.ndarray, mask: np.ndarray, settings: EraseSettings) -> Prepared | None:
    height, width = image.shape[:2]
    wanted = grow(binarize(mask), settings.mask_grow) if settings.mask_grow else binarize(mask)
    report: dict[str, Any] = {"index": index, "size": [width, height]}
    if is_empty(wanted):
        return None
    corner = _mark_corner(settings)
    box, plan, scale = _place(wanted, settings, corner)
    region = wanted[box.slices]
    if (plan.src_w, plan.src_h) == (plan.send_w, plan.send_h) and plan.src_w * plan.src_h >= CONVERT_ALONGSIDE:
        picture = Converting(image[box.slices])  # sent as it is: converted on the pool while the encoder samples
    else:
        picture = apply_fit(to_uint8(image[box.slices]), plan)
    # The mask's PNG is made while the image's JPEG encode runs on the other core (codec._FullSize)
    sent, (sent_mask, mask_bytes) = encode_image_with(picture, lambda: _encode_mask(region, plan))
    if isinstance(picture, Converting):
        picture = picture.result()
    report.update(region=[box.x0, box.y0, box.x1, box.y1], sent_size=[plan.send_w, plan.send_h],
                  sent_bytes=len(sent.data), format=sent.format, quality=sent.quality)
    mark = None
    if corner is not None and settings.paste_back:
        radius = settings.options.dilate_size + math.ceil(settings.feather / scale) + DRIFT_ALLOWANCE
        mark = watermark.probe(picture, sent_mask, corner, radius)
    return Prepared(index, box, plan, sent.data, mask_bytes, region, math.ceil(settings.options.dilate_size * scale),
                    report, mark=mark)


def _encode_mask(region: np.ndarray, plan: FitPlan) -> tuple[np.ndarray, bytes]:
    sent_mask = apply_fit_mask(region, plan)
    return sent_mask, encode_mask(sent_mask)


def _weights(prep: Prepared, settings: EraseSettings, masks: PasteMasks) -> None:
    """Paste-back weights and the colour-drift band: only needed once a result is back, so they are computed
    while the calls are in flight. They live in the MASK output's plane where that can be shared (paste_masks)."""
    region, prep.region = prep.region, None  # a view of the whole frame's mask: not kept beyond this
    if settings.paste_back:
        weights = paste_weights(region, prep.dilate, settings.feather)
        prep.band = sample_band(drift_band(region, weights, prep.dilate, settings.feather))
    else:
        weights = np.ones(region.shape, np.float32)
    prep.weights = masks.adopt(prep.box, weights)
    del region, weights
    release_memory()


def _finish(prep: Prepared, original: np.ndarray, jpeg: bytes, out: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Paste one result into `out`; returns the weights used and notes for the report.

    The result stays a Pillow image (4 bytes a pixel) and is read in row bands (decoded.ImageRows): no full-size
    uint8 copy, and what was freed goes back to the OS before the next result."""
    try:
        result = open_image(jpeg)
    except ValueError:
        raise ServiceError("The service's result image could not be decoded.", hint="Run again.") from None
    plan, notes = prep.plan, []
    note = check_result_size(result.width, result.height, plan.send_w, plan.send_h)
    if note is not None:
        prep.report["resized_result_from"] = [result.width, result.height]
        notes.append(note)
        result = result.resize((plan.send_w, plan.send_h), Image.Resampling.LANCZOS)
    back = ImageRows(undo_fit_image(result, plan))
    drift = colour_drift(back, original[prep.box.slices], prep.band)
    weights = prep.weights
    if prep.mark is not None:
        weights, note = watermark.keep_mark(ImageRows(result), prep.mark, drift, plan, prep.box, weights)
        notes.append(note)
    del result
    paste_back(original, back, prep.box, weights, out=out, drift=drift)
    del back
    release_memory()
    return weights, notes


async def _call_variant(client: VisualClient, prep: Prepared, seed: int, settings: EraseSettings,
                        variants: int) -> tuple[bytes | None, dict[str, Any]]:
    """One variant with the ghost-face policy: new seeds up to ghost_retries times."""
    entry: dict[str, Any] = {"seeds": [], "request_ids": [], "attempts": 0, "retries": []}
    started = time.monotonic()
    for attempt in range(settings.ghost_retries + 1):
        current = seed if attempt == 0 else (seed + variants * attempt) % (MAX_SEED + 1)
        entry["seeds"].append(current)
        try:
            result = await client.inpaint(prep.image_bytes, prep.mask_bytes, replace(settings.options, seed=current))
        except VolcError as exc:
            entry["attempts"] += exc.attempts
            entry["retries"] += exc.retries
            entry["request_ids"].append(exc.request_id or "")
            if exc.code in NEW_SEED_CODES and attempt < settings.ghost_retries:
                entry["retries"].append(f"{exc.code}: new seed")
                continue
            entry.update(status="failed", **error_fields(exc), seconds=round(time.monotonic() - started, 3))
            raise _Failed(exc, entry) from None
        entry["attempts"] += result.attempts
        entry["request_ids"].append(result.request_id)
        entry["retries"] += result.retries
        entry.update(status="ok", seed=current, seconds=round(time.monotonic() - started, 3))
        if result.urls:  # asked for with return_url: the user wants to see them
            entry["urls"] = result.urls
        return result.data, entry
    raise AssertionError("unreachable")


def error_fields(exc: VolcError) -> dict[str, str]:
    """How a failed call reads in the report: the one-sentence headline, then the service's words and ids."""
    fields = {"error": exc.headline, "error_type": type(exc).__name__}
    if exc.details:
        fields["details"] = exc.details
    return fields


class _Failed(Exception):
    def __init__(self, error: VolcError, entry: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.error, self.entry = error, entry


def _fallback_allowed(error: VolcError, settings: EraseSettings) -> bool:
    if error.code in NEW_SEED_CODES:  # ghost face or a result failing review: what on_ghost_face is about
        return settings.on_ghost_face == "original"
    return settings.on_item_error == "original"


class _BatchRun:
    """State of one erase_batch call: preallocated outputs, reports, counters."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, settings: EraseSettings, client: VisualClient,
                 progress: Callable[[int, int], None] | None) -> None:
        batch, height, width = images.shape[:3]
        self.images, self.masks, self.settings, self.client, self.progress = images, masks, settings, client, progress
        self.variants = settings.variants
        self.out = np.empty((batch * self.variants, height, width, 3), np.float32)
        self.out_masks = PasteMasks(batch, self.variants, height, width)
        self.reports: list[dict[str, Any]] = [{} for _ in range(batch)]
        self.total, self.done, self.succeeded = batch * self.variants, 0, 0
        self.failures: list[VolcError] = []
        self.skipped: list[int] = []  # images returned unchanged because nothing is painted on them
        self.finishing = asyncio.Semaphore(2)  # two paste-backs at a time: both cores, bounded decode buffers

    def _tick(self, count: int = 1) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.done, self.total)

    async def image(self, i: int) -> None:
        """Prepare image i (in a thread, so other images' calls proceed meanwhile), then run its variants."""
        prep = await asyncio.to_thread(_prepare, i, self.images[i], self.masks[i], self.settings)
        if prep is None:
            self._skip(i)
            return
        prep.report.update(status="ok", variants=[None] * self.variants)
        self.reports[i] = prep.report
        seeds = variant_seeds(self.settings.options.seed, self.variants)
        weights = asyncio.ensure_future(asyncio.to_thread(_weights, prep, self.settings, self.out_masks))
        try:
            await gather_all(self.variant(prep, v, seed, weights) for v, seed in enumerate(seeds))
        finally:
            await asyncio.gather(weights, return_exceptions=True)  # a thread cannot be cancelled: let it end

    def _skip(self, i: int) -> None:
        if self.settings.on_empty_mask == "error":
            raise InputError(f"The mask of {_which(i, len(self.images))} is empty after mask_grow "
                             f"{self.settings.mask_grow}", hint="Paint a larger area or lower the negative mask_grow.")
        self.skipped.append(i)
        for slot in range(i * self.variants, (i + 1) * self.variants):
            sanitize_into(self.images[i], self.out[slot])
        height, width = self.images.shape[1:3]
        self.reports[i] = {"index": i, "size": [width, height], "status": "skipped",
                           "reason": "nothing is painted: returned the original without calling the API"}
        self._tick(self.variants)

    async def variant(self, prep: Prepared, v: int, seed: int, weights: asyncio.Future) -> None:
        slot = prep.index * self.variants + v
        try:
            data, entry = await _call_variant(self.client, prep, seed, self.settings, self.variants)
            await asyncio.shield(weights)
            try:
                async with self.finishing:
                    used, notes = await asyncio.to_thread(_finish, prep, self.images[prep.index], data,
                                                          self.out[slot])
            except VolcError as exc:
                entry.update(status="failed", **error_fields(exc))
                raise _Failed(exc, entry) from None
            if notes:
                entry["notes"] = notes
            self.out_masks.put(slot, prep.box, used)
            self.succeeded += 1
        except _Failed as failed:
            entry = failed.entry
            if not _fallback_allowed(failed.error, self.settings):
                raise failed.error from None
            self.failures.append(failed.error)
            # The user chose to keep the original for a failed item; the report says why.
            sanitize_into(self.images[prep.index], self.out[slot])
            entry["status"], prep.report["status"] = "original", "partial"
        prep.report["variants"][v] = entry
        self._tick()


async def erase_batch(images: np.ndarray, masks: np.ndarray, settings: EraseSettings, client: VisualClient,
                      progress: Callable[[int, int], None] | None = None) -> EraseOutput:
    """images float [B,H,W,C]; masks float [B|1,h,w] or [h,w]. Output i*variants+v is image i, variant v."""
    settings.validate()
    batch, height, width = check_images(images)
    aligned = align_masks(masks, batch, height, width)
    empty = [i for i in range(batch) if is_empty(binarize(aligned[i]))]
    if empty and settings.on_empty_mask == "error":  # before any call: an error must not come after billed work
        raise nothing_painted(empty[0], batch)
    run = _BatchRun(images, aligned, settings, client, progress)
    calls = (batch - len(empty)) * settings.variants
    if calls and progress is not None:
        progress(0, calls)  # "sending N calls": the user sees something before the first answer
    await gather_all(run.image(i) for i in range(batch))
    if run.failures and not run.succeeded:
        raise run.failures[0]  # nothing at all was erased: returning originals would only hide the cause
    return EraseOutput(run.out, run.out_masks.array(), run.reports, sorted(run.skipped))

