"""Entity segmentation (req_key entity_seg) for the stand-in: request checks, a classical segmentation, the answer.

Checks follow the documentation (volcengine.com/docs/6793/1317296): one image in binary_data_base64, JPEG/PNG/BMP,
128..4096 px per side, base64 at most 4,700,000 characters (50205 beyond); max_entity 1..100 (20), return_format 0..4
(0), refine_mask 0..1 (0, accepted and ignored); return_url is documented as not supported, so true is refused (50200).

The segmentation: the picture, scaled down to at most a megapixel, is quantised to a few colours; 4-connected regions of
one colour are the candidates, speckles under 0.2 % of the picture are dropped. The background is the largest region
touching the border. It, and everything dropped, is index 0; the other regions, largest first, are entities 1..n (at
most max_entity). Separate shapes of one colour on a plain background therefore come back as one entity each.

Answers by return_format: 0 the index map (8-bit grey PNG, value k = entity k); 1 one layer per entity (grey PNG,
255 = entity); 2 the picture + the index map; 3 the picture + the layers; 4 the largest entity as an RGBA cut-out +
its layer. `data` also carries entity_num, ori_width, ori_height and seg_score, like the documentation's example.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from ..imaging.components import label_components
from .checks import (MAX_SALIENCY_BASE64, SALIENCY_SIDES, ApiError, ImageInfo, bool_param, decode_inputs, number_param,
                     open_image, to_rgb)

MAX_BASE64 = MAX_SALIENCY_BASE64  # the same documented limits as saliency segmentation
SIDES = SALIENCY_SIDES
WORK_PIXELS = 1 << 20   # the segmentation runs on at most a megapixel; labels are scaled back nearest-neighbour
COLOURS = 8             # adaptive palette size: flat shapes keep their colour, photos fall into broad regions
MIN_SHARE = 0.002       # regions smaller than this share of the picture are speckles, not entities


@dataclass
class EntityJob:
    image: Image.Image
    max_entity: int = 20
    return_format: int = 0


def build_entity(body: dict[str, Any], infos: list[ImageInfo]) -> EntityJob:
    max_entity = number_param(body, "max_entity", int, 1, 100, 20)
    return_format = number_param(body, "return_format", int, 0, 4, 0)
    number_param(body, "refine_mask", int, 0, 1, 0)
    if bool_param(body, "return_url"):
        raise ApiError(50200, "return_url is not supported by entity_seg (the documentation: 暂不支持); leave it out")
    (data,) = decode_inputs(body, 1, infos, max_base64=MAX_BASE64)
    image = open_image(data, ("JPEG", "PNG", "BMP"), SIDES)
    return EntityJob(image, max_entity, return_format)


def segment(image: Image.Image, max_entity: int) -> np.ndarray:
    """uint8 [H,W] at the image's size: 0 background, 1..n entities, largest first."""
    work = image.convert("RGB")
    scale = (WORK_PIXELS / (work.width * work.height)) ** 0.5
    if scale < 1:
        work = work.resize((max(1, round(work.width * scale)), max(1, round(work.height * scale))),
                           Image.Resampling.BOX)
    colours = np.asarray(work.quantize(COLOURS, method=Image.Quantize.MEDIANCUT))
    regions, sizes = label_components(colours)
    speckles = sizes[regions] < MIN_SHARE * regions.size
    if speckles.any():  # speckles take their neighbourhood's colour; large flat shapes keep their exact outline
        common = np.asarray(Image.fromarray(colours, "L").filter(ImageFilter.ModeFilter(5)))
        regions, sizes = label_components(np.where(speckles, common, colours))
    border = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    background = int(border[np.argmax(sizes[border])])
    big = [k for k in range(1, len(sizes)) if k != background and sizes[k] >= MIN_SHARE * regions.size]
    mapping = np.zeros(len(sizes), np.uint8)
    mapping[big[:max_entity]] = np.arange(1, len(big[:max_entity]) + 1)
    labels = Image.fromarray(mapping[regions], "L")
    return np.asarray(labels.resize(image.size, Image.Resampling.NEAREST))


def run_entity(job: EntityJob, *, empty: bool = False) -> tuple[list[Image.Image], dict[str, Any]]:
    """(images to send, in order; the answer's extra data fields)."""
    width, height = job.image.size
    labels = np.zeros((height, width), np.uint8) if empty else segment(job.image, job.max_entity)
    count = int(labels.max())
    index_map = Image.fromarray(labels, "L")
    layers = [Image.fromarray(np.where(labels == k, 255, 0).astype(np.uint8), "L") for k in range(1, count + 1)]
    picture = Image.fromarray(to_rgb(job.image), "RGB")
    fmt = job.return_format
    if fmt == 0:
        images = [index_map]
    elif fmt == 1:
        images = layers
    elif fmt == 2:
        images = [picture, index_map]
    elif fmt == 3:
        images = [picture, *layers]
    else:
        largest = layers[:1] or [Image.new("L", (width, height), 0)]
        cut = picture.convert("RGBA")
        cut.putalpha(largest[0])
        images = [cut, largest[0]]
    fields = {"entity_num": [count], "ori_height": [height], "ori_width": [width],
              "seg_score": [round(0.99 - 0.001 * k, 6) for k in range(count)]}
    return images, fields
