"""VolcengineInpaintErase: IMAGE + MASK in, erased IMAGE batch (images x variants) at full resolution out."""
from __future__ import annotations

import torch

from . import comfy_bridge, status_text
from .common import make_client, timeout_widget, to_numpy
from ..utils.api.client import InpaintOptions, LogoInfo
from ..utils.erase import MAX_SEED, EraseSettings, erase_batch
from ..utils.report import format_report
from ..utils.api.errors import InputError
from ..utils.validate import choice

FALLBACKS = {"error": "error", "return original": "original"}


def _int(default, low, high, tooltip, **extra):
    return ("INT", {"default": default, "min": low, "max": high, "tooltip": tooltip, **extra})


def _float(default, low, high, step, tooltip):
    return ("FLOAT", {"default": default, "min": low, "max": high, "step": step, "tooltip": tooltip})


def _whole(value):
    """A headless client may send 7.0 for an INT widget; anything else is left for validation to name."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _real(value):
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class VolcengineInpaintErase:
    DESCRIPTION = (
        "Erase what the mask covers with Volcengine Inpainting (涂抹消除), at the image's full resolution. "
        "Only a crop around the mask is sent, the result is pasted back so every pixel outside the (dilated, "
        "feathered) mask stays exactly as it was, and 1-4 variants per image come back together. Credentials come "
        "from the environment (VOLC_ACCESSKEY / VOLC_SECRETKEY), ComfyUI's Volcengine settings or ~/.volc, never "
        "from the graph.")
    CATEGORY = "Volcengine"
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
                "seed": _int(0, -1, MAX_SEED, "Seed of variant 1; variant k uses seed+k-1. -1 = random every run.",
                             control_after_generate=True),
                "variants": _int(1, 1, 4, "Results per image, each from its own call with its own seed."),
                "steps": _int(30, 1, 50, "Sampling steps: more is finer and much slower."),
                "strength": _float(0.8, 0.1, 1.0, 0.05, "How strongly the masked area is repainted."),
                "scale": _float(7.0, 1.0, 20.0, 0.5, "Guidance scale of the service."),
                "dilate_size": _int(15, 0, 100, "The service grows the mask by this many pixels; raise it for "
                                                "tight segmentation masks so no outline is left."),
                "quality": (["H", "M", "L"], {"default": "M", "tooltip": "H best and slowest, M balanced, L fastest."}),
                "return_url": ("BOOLEAN", {"default": False, "tooltip": "Have the service also host the result at a "
                                           "URL for 24 h (the image is downloaded either way)."}),
                "mask_grow": _int(0, -512, 512, "Grow (+) or shrink (-) the mask by this many pixels before sending."),
                "feather": _int(8, 0, 256, "Soft seam width in pixels, outward from the dilated mask."),
                "crop_to_mask": ("BOOLEAN", {"default": True, "tooltip": "Send only a crop around the mask: full "
                                             "detail for small objects, and images over 4096 px work at all."}),
                "context": _float(2.0, 1.0, 16.0, 0.1, "Crop size as a multiple of the mask's bounding box; more "
                                                      "context helps the service match the surroundings."),
                "paste_back": ("BOOLEAN", {"default": True, "tooltip": "Keep every pixel outside the mask exactly as "
                                           "in the input. Off: the whole sent region is replaced by the result."}),
                "ghost_face_retries": _int(2, 0, 5, "When the service withholds an 'AI ghost face' (201304) or a "
                                                    "result fails review, retry with a new seed this many times."),
                "on_ghost_face": (list(FALLBACKS), {"default": "error", "tooltip": "After the retries: stop with an "
                                                    "error, or return the original image for that variant."}),
                "on_item_error": (list(FALLBACKS), {"default": "error", "tooltip": "When one image of a batch "
                                                    "fails: stop, or return its original and keep the others."}),
                "on_empty_mask": (["return original", "error"], {"default": "return original", "tooltip": "An empty "
                                  "mask: return the image unchanged without calling the API, or stop with an error."}),
                "timeout": timeout_widget(120.0),
            },
            "optional": {
                "logo_info": ("VOLC_LOGO_INFO", {"tooltip": "Watermark settings from a Volcengine Logo Info node; "
                                                            "unconnected = no watermark."}),
            },
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    @classmethod
    def IS_CHANGED(cls, seed=0, **_):
        # NaN never equals itself, so ComfyUI's cache never reuses a random-seed result.
        return float("nan") if seed == -1 else seed

    async def erase(self, image, mask, seed, variants, steps, strength, scale, dilate_size, quality, return_url,
                    mask_grow, feather, crop_to_mask, context, paste_back, ghost_face_retries, on_ghost_face,
                    on_item_error, on_empty_mask, timeout, logo_info=None, unique_id=None):
        if logo_info is not None and not isinstance(logo_info, LogoInfo):
            raise InputError("logo_info is not from a Volcengine Logo Info node.", hint="Connect that node or nothing.")
        choice("on_ghost_face", on_ghost_face, list(FALLBACKS))
        choice("on_item_error", on_item_error, list(FALLBACKS))
        choice("on_empty_mask", on_empty_mask, ["return original", "error"])
        options = InpaintOptions(steps=_whole(steps), strength=_real(strength), scale=_real(scale), seed=_whole(seed),
                                 dilate_size=_whole(dilate_size), quality=quality, return_url=bool(return_url),
                                 logo_info=logo_info)
        settings = EraseSettings(options=options, variants=_whole(variants), mask_grow=_whole(mask_grow),
                                 feather=_whole(feather), crop=bool(crop_to_mask), context=_real(context),
                                 paste_back=bool(paste_back), ghost_retries=_whole(ghost_face_retries),
                                 on_ghost_face=FALLBACKS[on_ghost_face],
                                 on_item_error=FALLBACKS[on_item_error],
                                 on_empty_mask="original" if on_empty_mask == "return original" else "error")
        client = make_client(timeout)
        pixels = to_numpy(image, "image")
        result = await erase_batch(pixels, to_numpy(mask, "mask"), settings, client, comfy_bridge.progress(unique_id))
        if result.skipped:  # say why an image came back unchanged, in place of "4/4 results ready"
            total = len(result.images)
            comfy_bridge.status_text(status_text.skipped(result.skipped, len(pixels), total, total), unique_id)
        return (torch.from_numpy(result.images), torch.from_numpy(result.masks), format_report(result.reports))
