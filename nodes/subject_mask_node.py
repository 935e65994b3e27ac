"""VolcengineSubjectMask: saliency segmentation -> subject and background masks at the input's size."""
from __future__ import annotations

import json

import torch

from . import comfy_bridge
from .common import make_client, segmentation_inputs, to_numpy
from ..utils.segment import subject_masks
from ..utils.specs import SUBJECT_MASK


class VolcengineSubjectMask:
    DESCRIPTION = (
        "Find the main subject of each image with Volcengine saliency segmentation (主体分割). Outputs the subject "
        "mask and its inverse (the background), at the input's size, ready for the eraser's mask input: erase the "
        "subject, or erase the background. Images outside 128..4096 px are fitted on the way in.")
    CATEGORY = "Volcengine/inpainting"
    RETURN_TYPES = ("MASK", "MASK", "STRING")
    RETURN_NAMES = ("subject_mask", "background_mask", "report")
    OUTPUT_TOOLTIPS = ("1 where the subject is.", "1 everywhere except the subject (the inverse).",
                       "JSON report per image: request id, subject share, and a note when nothing was found.")
    FUNCTION = "segment"

    @classmethod
    def INPUT_TYPES(cls):
        return segmentation_inputs(SUBJECT_MASK)

    async def segment(self, image, refine_mask, grow, timeout, unique_id=None):
        client = make_client(timeout)
        masks, reports = await subject_masks(to_numpy(image, "image"), client, refine=refine_mask, grow_px=grow,
                                             progress=comfy_bridge.progress(unique_id))
        empty = [r["index"] + 1 for r in reports if "note" in r]
        if empty:
            comfy_bridge.status_text(f"No subject found in image(s) {empty}: empty mask.", unique_id)
        subject = torch.from_numpy(masks)
        return (subject, 1.0 - subject, json.dumps(reports, ensure_ascii=False, indent=1))
