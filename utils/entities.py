"""Complete objects from Volcengine entity segmentation (智能分割: Action EntitySegment, req_key entity_seg).

One call per image, fitted to the documented limits on the way in (128..4096 px per side, base64 under 4,700,000
characters) and scaled back to the input size on the way out. The entities then answer a selection: the ones a rough
stroke (the hint) lands on, all, the largest, or all but the largest.

What the documentation (volcengine.com/docs/6793/1317296) leaves open, and what this module assumes:
- We ask for return_format 0, one index map: a single image whatever the entity count (layers would be up to 100
  full-size images).
- Index map: every distinct pixel value is one entity, in no particular order and not necessarily 1..n. Value 0 marks
  pixels that belong to no entity (background) - unless the answer's entity_num equals the number of distinct values,
  which means 0 is an entity too. A palette, 16-bit or grey-as-RGB map is read by its values, a colour map by its
  colours.
- Several images in one answer (as return_format 1 would give) are read as one layer per entity: a layer with
  transparency marks its entity by alpha, any other by grey >= 128. Their order is ignored: we sort by area.
- A map of another size than sent is resized nearest-neighbour, never blended (labels are not intensities), when it
  plausibly is the same picture (segment.check_mask_shape); anything else is a ServiceError.
"""
from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from .api.client import CallResult, VisualClient
from .api.errors import ServiceError
from .batch import check_images, gather_all
from .imaging.codec import SEGMENT_MAX_BYTES, encode_image
from .imaging.convert import to_uint8
from .imaging.components import label_components
from .imaging.masks import align_masks, binarize, grow, is_empty
from .imaging.regions import FitPlan, apply_fit, plan_fit
from .segment import check_mask_shape, decode_mask
from .specs import ENTITY_MASK

ENTITY_MIN_SIDE, ENTITY_MAX_SIDE = 128, 4096
ENTITY_MAX_BYTES = SEGMENT_MAX_BYTES  # "base64格式下单张图片最大4.7Mb", read as at most 4,700,000 base64 characters


@dataclass(frozen=True)
class EntitySettings:
    """The node's widgets (ranges, defaults and tooltips in specs.ENTITY_MASK)."""
    select: str = ENTITY_MASK["select"].default
    overlap: float = ENTITY_MASK["overlap"].default   # see choose_by_hint
    max_entities: int = ENTITY_MASK["max_entities"].default
    grow: int = ENTITY_MASK["grow"].default

    def validate(self) -> None:
        for name in ("select", "overlap", "max_entities", "grow"):
            ENTITY_MASK[name].check(getattr(self, name))


@dataclass
class EntityOutput:
    masks: np.ndarray             # float32 [B,H,W]: the selected entities of each image, united
    entities: np.ndarray          # float32 [N,H,W]: every entity, image by image, largest first (one empty if none)
    reports: list[dict[str, Any]]


# ----------------------------------------------------------------------------------------------- reading the answer

def _read_map(data: bytes) -> np.ndarray:
    """An index-map image -> integer values [H,W] (see the module notes for the formats read)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if img.mode in ("P", "L", "I", "I;16", "I;16B", "I;16L"):
                return np.asarray(img).astype(np.int64)
            rgb = np.asarray(img.convert("RGB")).astype(np.int64)
    except Exception as exc:
        raise ServiceError(f"The entity map could not be decoded ({type(exc).__name__}).", hint="Run again.") from None
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return rgb[..., 0]
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _nearest(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 labels resized without blending."""
    if values.shape == (height, width):
        return values
    return np.asarray(Image.fromarray(values).resize((width, height), Image.Resampling.NEAREST))


def _entity_num(fields: dict[str, Any]) -> int | None:
    value = fields.get("entity_num")
    value = value[0] if isinstance(value, list) and value else value
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _from_index_map(data: bytes, entity_num: int | None) -> tuple[np.ndarray, str]:
    values = _read_map(data)
    distinct, index = np.unique(values, return_inverse=True)
    index = index.reshape(values.shape)
    if distinct[0] != 0 or entity_num == len(distinct):
        return index + 1, "every value of the index map is an entity"
    return index, "index map: 0 read as background, every other value as one entity"


def _from_layers(images: list[bytes], width: int, height: int, request_id: str) -> tuple[np.ndarray, str]:
    layers = []
    for data in images:
        layer = decode_mask(data)
        if layer.shape != (height, width):
            check_mask_shape(layer.shape, width, height, request_id)
        layers.append(_nearest(layer, width, height) >= 128)
    labels = np.zeros((height, width), np.int64)
    for k in sorted(range(len(layers)), key=lambda k: -int(layers[k].sum())):
        labels[layers[k]] = k + 1  # largest first, so a smaller entity lying on a larger one keeps its pixels
    return labels, f"{len(layers)} layers, one entity each"


def _by_area(labels: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Renumber 1..n by area, largest first, keeping at most `limit` entities (the rest becomes background)."""
    areas = np.bincount(labels.ravel())
    order = np.argsort(-areas[1:], kind="stable") + 1
    kept = [k for k in order if areas[k] > 0][:limit]
    mapping = np.zeros(len(areas), np.uint8)
    mapping[kept] = np.arange(1, len(kept) + 1)
    dropped = int((areas[1:] > 0).sum()) - len(kept)
    return mapping[labels], np.concatenate([[areas[0]], areas[kept]]).astype(np.int64), dropped


def entity_labels(result: CallResult, plan: FitPlan, limit: int) -> tuple[np.ndarray, str, int]:
    """The answer -> (uint8 labels at the source size, 0 = no entity, 1..n largest first; how it was read;
    how many entities beyond `limit` were dropped)."""
    images = [result.data, *result.more]
    if len(images) == 1:
        labels, how = _from_index_map(result.data, _entity_num(result.fields))
        if labels.shape != (plan.send_h, plan.send_w):
            check_mask_shape(labels.shape, plan.send_w, plan.send_h, result.request_id)
            how += f"; answer was {labels.shape[1]}x{labels.shape[0]}, resized"
    else:
        labels, how = _from_layers(images, plan.send_w, plan.send_h, result.request_id)
    ranked, _, dropped = _by_area(labels, limit)
    ranked = _nearest(ranked, plan.send_w, plan.send_h)[: plan.scaled_h, : plan.scaled_w]
    labels, _, _ = _by_area(_nearest(np.ascontiguousarray(ranked), plan.src_w, plan.src_h), limit)
    return labels, how, dropped


# ----------------------------------------------------------------------------------------------- selection

def choose_by_hint(labels: np.ndarray, areas: np.ndarray, stroke: np.ndarray, overlap: float
                   ) -> tuple[list[int], list[dict[str, Any]]]:
    """Entities a rough stroke means, and per touched entity the numbers behind the choice.

    An entity is chosen when the stroke covers at least `overlap` of its area, or when at least `overlap` of one
    separate stroke lies in it and that stroke is denser inside the entity than outside it. The first catches small
    objects painted over generously; the second a quick line across a large object (it covers little of the object's
    area but lies mostly inside it). The density test keeps the background out: a stroke that spills past an object
    also lies partly on the background, but covers a far smaller share of it than of the object, so it is denser
    outside the background (on the object) than inside it.
    """
    n = len(areas) - 1
    parts, part_sizes = label_components(stroke, background=0)
    counts = np.bincount(parts[stroke].astype(np.int64) * (n + 1) + labels[stroke],
                         minlength=len(part_sizes) * (n + 1)).reshape(len(part_sizes), n + 1)[1:]
    inside = counts.sum(axis=0)
    total = labels.size
    chosen, touched = [], []
    for k in np.flatnonzero(inside[1:]) + 1:
        covered = inside[k] / areas[k]
        share = counts[:, k] / part_sizes[1:]
        outside = (part_sizes[1:] - counts[:, k]) / max(total - areas[k], 1)
        meant = (share >= overlap) & (counts[:, k] / areas[k] > outside)
        selected = bool(covered >= overlap or meant.any())
        touched.append({"entity": int(k), "covered": round(float(covered), 4),
                        "stroke_share": round(float(share.max()), 4), "selected": selected})
        if selected:
            chosen.append(int(k))
    return chosen, touched


def choose(labels: np.ndarray, areas: np.ndarray, settings: EntitySettings, stroke: np.ndarray | None
           ) -> tuple[list[int], dict[str, Any]]:
    n = len(areas) - 1
    if settings.select == "all":
        return list(range(1, n + 1)), {}
    if settings.select == "largest":
        return [1] if n else [], {}
    if settings.select == "all but largest":
        return list(range(2, n + 1)), {}
    if stroke is None:
        return [], {"note": "the hint is empty: paint over the object(s) to select"}
    chosen, touched = choose_by_hint(labels, areas, stroke, settings.overlap)
    info: dict[str, Any] = {"touched": touched}
    if not touched:
        info["note"] = "the hint touches no entity"
    elif not chosen:
        info["note"] = (f"the hint touches {len(touched)} entit{'y' if len(touched) == 1 else 'ies'} but covers too "
                        f"little of them (overlap {settings.overlap:g}); paint more of the object or lower overlap")
    return chosen, info


# ----------------------------------------------------------------------------------------------- the batch

async def _one(client: VisualClient, index: int, image: np.ndarray, stroke: np.ndarray | None,
               settings: EntitySettings) -> tuple[np.ndarray, list[int], dict[str, Any]]:
    height, width = image.shape[:2]
    plan = plan_fit(width, height, ENTITY_MIN_SIDE, ENTITY_MAX_SIDE)
    sent = await asyncio.to_thread(lambda: encode_image(apply_fit(to_uint8(image), plan), ENTITY_MAX_BYTES))
    started = time.monotonic()
    result = await client.entity_segment(sent.data, max_entity=settings.max_entities, return_format=0)
    labels, how, dropped = await asyncio.to_thread(entity_labels, result, plan, settings.max_entities)
    areas = np.bincount(labels.ravel(), minlength=1).astype(np.int64)
    chosen, info = await asyncio.to_thread(choose, labels, areas, settings, stroke)
    report: dict[str, Any] = {
        "index": index, "size": [width, height], "sent_size": [plan.send_w, plan.send_h],
        "request_id": result.request_id, "attempts": result.attempts, "seconds": round(time.monotonic() - started, 3),
        "read_as": how, "entity_num": _entity_num(result.fields), "entities": len(areas) - 1,
        "entity_areas": [round(float(a) / labels.size, 4) for a in areas[1:]], "selected": chosen, **info}
    if dropped:
        report["dropped"] = f"{dropped} smaller entities beyond max_entities were ignored"
    if len(areas) == 1:
        report["note"] = "no entity was found: the masks are empty"
    elif not chosen and "note" not in report:
        report["note"] = f"select '{settings.select}' leaves no entity: the mask is empty"
    return labels, chosen, report


def _strokes(hint: np.ndarray | None, batch: int, height: int, width: int) -> list[np.ndarray | None]:
    """One bool stroke per image, None where the hint is missing or empty."""
    if hint is None or is_empty(hint):  # also Load Image's 64x64 placeholder when nothing was painted
        return [None] * batch
    aligned = align_masks(hint, batch, height, width)
    return [None if is_empty(s) else s for s in (binarize(aligned[i]) for i in range(batch))]


def _assemble(results: list[tuple[np.ndarray, list[int], dict]], settings: EntitySettings, height: int,
              width: int) -> EntityOutput:
    masks = np.zeros((len(results), height, width), np.float32)
    count = sum(int(labels.max()) for labels, _, _ in results)
    entities = np.zeros((max(count, 1), height, width), np.float32)
    slot = 0
    for i, (labels, chosen, report) in enumerate(results):
        union = np.isin(labels, chosen) if chosen else np.zeros(labels.shape, bool)
        masks[i] = grow(union, settings.grow) if settings.grow and chosen else union
        n = int(labels.max())
        for k in range(1, n + 1):
            entities[slot + k - 1] = labels == k
        report["entity_slots"] = [slot, slot + n]
        slot += n
    return EntityOutput(masks, entities, [r for _, _, r in results])


async def entity_masks(images: np.ndarray, client: VisualClient, settings: EntitySettings,
                       hint: np.ndarray | None = None,
                       progress: Callable[[int, int], None] | None = None) -> EntityOutput:
    """images float [B,H,W,C]; hint float [B|1,h,w] or None. See EntityOutput."""
    batch, height, width = check_images(images)
    settings.validate()
    strokes = _strokes(hint, batch, height, width) if settings.select == "hint" else [None] * batch
    done = 0

    async def run(i: int):
        nonlocal done
        outcome = await _one(client, i, images[i], strokes[i], settings)
        done += 1
        if progress is not None:
            progress(done, batch)
        return outcome

    results = await gather_all(run(i) for i in range(batch))
    return await asyncio.to_thread(_assemble, list(results), settings, height, width)
