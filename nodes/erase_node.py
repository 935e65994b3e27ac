"""VolcengineInpaintErase: IMAGE + MASK in, erased IMAGE batch (images x variants) at full resolution out."""
from __future__ import annotations

import json

import torch

from . import comfy_bridge
from .common import make_client, to_numpy
from .prompt_check import HIDDEN_INPUT, RefusesInvalidInputs, refuse
from ..utils.api.client import InpaintOptions, LogoInfo
from ..utils.api.errors import InputError
from ..utils.erase import EraseSettings, erase_batch
from ..utils.specs import ERASE, widgets


def _whole(value):
    """A headless client may send 7.0 for an INT widget; anything else is left for validation to name."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _real(value):
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class VolcengineInpaintErase(RefusesInvalidInputs):
    DESCRIPTION = (
        "Erase what the mask covers with Volcengine Inpainting (涂抹消除), at the image's full resolution. "
        "Only a crop around the mask is sent, the result is pasted back so every pixel outside the (dilated, "
        "feathered) mask stays exactly as it was, and 1-4 variants per image come back together. Credentials come "
        "from the environment (VOLC_ACCESSKEY / VOLC_SECRETKEY), ComfyUI's Volcengine settings or ~/.volc, never "
        "from the graph.")
    CATEGORY = "Volcengine/inpainting"
    RETURN_TYPES = ("IMAGE", "MASK", "STRING")
    RETURN_NAMES = ("images", "paste_mask", "report")
    OUTPUT_TOOLTIPS = (
        "Erased images, same size as the input: image 1 variants 1..N, then image 2, and so on.",
        "The mask actually used for paste-back (after grow, service dilation and feather), one per output image.",
        "JSON report per input image: region sent, seeds, request ids, retries, time, skipped or failed reasons.",
    )
    FUNCTION = "erase"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The picture(s) to erase from; a batch is erased image by image."}),
                "mask": ("MASK", {"tooltip": "White (1) = erase. One mask for the whole batch or one per image; "
                                             "a soft mask is cut at 0.5."}),
                **widgets(ERASE),
            },
            "optional": {
                "logo_info": ("VOLC_LOGO_INFO", {"tooltip": "Watermark settings from a Volcengine Logo Info node; "
                                                            "unconnected = no watermark."}),
            },
            "hidden": {"unique_id": "UNIQUE_ID", **HIDDEN_INPUT},
        }

    @classmethod
    def IS_CHANGED(cls, seed=0, **_):
        # NaN never equals itself, so ComfyUI's cache never reuses a random-seed result.
        return float("nan") if seed == -1 else seed

    async def erase(self, image, mask, seed, variants, steps, strength, scale, dilate_size, quality, return_url,
                    mask_grow, feather, crop_to_mask, context, paste_back, ghost_face_retries, on_ghost_face,
                    on_item_error, on_empty_mask, timeout, logo_info=None, unique_id=None, invalid_inputs=None):
        refuse(invalid_inputs)
        if logo_info is not None and not isinstance(logo_info, LogoInfo):
            raise InputError("logo_info is not from a Volcengine Logo Info node.", hint="Connect that node or nothing.")
        fallbacks = {name: ERASE[name].parse(value) for name, value in [
            ("on_ghost_face", on_ghost_face), ("on_item_error", on_item_error), ("on_empty_mask", on_empty_mask)]}
        flags = {name: ERASE[name].check(value) for name, value in [
            ("return_url", return_url), ("crop_to_mask", crop_to_mask), ("paste_back", paste_back)]}
        options = InpaintOptions(steps=_whole(steps), strength=_real(strength), scale=_real(scale), seed=_whole(seed),
                                 dilate_size=_whole(dilate_size), quality=quality, return_url=flags["return_url"],
                                 logo_info=logo_info)
        settings = EraseSettings(options=options, variants=_whole(variants), mask_grow=_whole(mask_grow),
                                 feather=_whole(feather), crop=flags["crop_to_mask"], context=_real(context),
                                 paste_back=flags["paste_back"], ghost_retries=_whole(ghost_face_retries),
                                 **fallbacks)
        client = make_client(timeout)
        result = await erase_batch(to_numpy(image, "image"), to_numpy(mask, "mask"), settings, client,
                                   comfy_bridge.progress(unique_id))
        report = json.dumps(result.reports, ensure_ascii=False, indent=1)
        return (torch.from_numpy(result.images), torch.from_numpy(result.masks), report)
