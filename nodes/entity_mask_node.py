"""VolcengineEntityMask: entity segmentation -> the complete objects a stroke touches (or all, the largest, ...)."""
from __future__ import annotations

import json

import torch

from . import comfy_bridge
from .common import make_client, segmentation_inputs, to_numpy
from ..utils.entities import EntitySettings, entity_masks
from ..utils.specs import ENTITY_MASK


class VolcengineEntityMask:
    DESCRIPTION = (
        "Find every object in the image with Volcengine entity segmentation (智能分割) and select complete objects: "
        "scribble roughly over what should go (the hint, e.g. what you painted in Load Image's Mask Editor) and the "
        "mask snaps to the whole objects the stroke touches; or take all objects, the largest, or all but the "
        "largest. The mask is at the input's size, ready for the eraser. Images outside 128..4096 px are fitted on "
        "the way in.")
    CATEGORY = "Volcengine/inpainting"
    RETURN_TYPES = ("MASK", "MASK", "STRING")
    RETURN_NAMES = ("mask", "entities", "report")
    OUTPUT_TOOLTIPS = ("1 where the selected objects are (all images of the batch).",
                       "Every object found, one mask each, largest first (image 1's, then image 2's, ...).",
                       "JSON report per image: request id, entities found, which were selected and why.")
    FUNCTION = "segment"

    @classmethod
    def INPUT_TYPES(cls):
        return segmentation_inputs(ENTITY_MASK, {"hint": (
            "MASK", {"tooltip": "A rough stroke over the object(s) to select (select = hint), e.g. Load Image's MASK "
                                "after painting in the Mask Editor."})})

    async def segment(self, image, select, overlap, max_entities, grow, timeout, hint=None, unique_id=None):
        client = make_client(timeout)
        settings = EntitySettings(select=select, overlap=overlap, max_entities=max_entities, grow=grow)
        stroke = None if hint is None else to_numpy(hint, "hint")
        out = await entity_masks(to_numpy(image, "image"), client, settings, stroke,
                                 progress=comfy_bridge.progress(unique_id))
        empty = [r["index"] + 1 for r in out.reports if not r["selected"]]
        if empty:
            comfy_bridge.status_text(f"Nothing selected in image(s) {empty}: empty mask (see the report).", unique_id)
        return (torch.from_numpy(out.masks), torch.from_numpy(out.entities),
                json.dumps(out.reports, ensure_ascii=False, indent=1))
