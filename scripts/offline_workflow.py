"""Run an API-format workflow in this process: the pack's node classes for real, the few core nodes the bundled
workflows use replaced by small equivalents. Used by make_thumbnails.py and the workflow tests; point the pack at
the stand-in first (VOLC_VISUAL_ENDPOINT and its keys), since the eraser's calls go out over HTTP as in ComfyUI.
"""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from pack_loader import ROOT, load_pack

INPUTS = ROOT / "workflows" / "inputs"


def core_nodes(outputs: dict | None = None, inputs: Path = INPUTS) -> dict[str, Callable[..., tuple]]:
    """LoadImage, ImageFromBatch, ImageStitch and the output nodes; an output node records what it got in
    `outputs[node_id]` (SaveImage its images, a preview its one input)."""
    import torch

    def load_image(node_id, image):
        with Image.open(inputs / image) as im:
            rgb = torch.from_numpy(np.asarray(im.convert("RGB"), np.float32) / 255.0)[None]
            if "A" in im.getbands():  # ComfyUI's rule: mask = 1 - alpha, else a 64x64 zero mask
                return rgb, 1.0 - torch.from_numpy(np.asarray(im.getchannel("A"), np.float32) / 255.0)[None]
        return rgb, torch.zeros((1, 64, 64))

    def collect(node_id, **received):
        if outputs is not None:
            outputs[node_id] = received["images"] if "filename_prefix" in received else next(iter(received.values()))
        return ()

    def from_batch(node_id, image, batch_index, length):
        start = min(image.shape[0] - 1, batch_index)
        return (image[start:start + length].clone(),)

    def stitch(node_id, image1, direction, match_image_size, spacing_width, spacing_color, image2=None):
        if image2 is None:
            return (image1,)
        # Only what the bundled workflows use; anything else must fail here, not make a wrong picture.
        if direction not in ("right", "down") or spacing_color != "white" or image1.shape != image2.shape:
            raise ValueError(f"ImageStitch {direction}/{spacing_color} of {tuple(image1.shape)} and "
                             f"{tuple(image2.shape)} is not implemented offline.")
        axis = 2 if direction == "right" else 1
        gap = list(image1.shape)
        gap[axis] = spacing_width
        return (torch.cat([image1, torch.ones(gap), image2], dim=axis),)

    return {"LoadImage": load_image, "ImageFromBatch": from_batch, "ImageStitch": stitch, "SaveImage": collect,
            "PreviewImage": collect, "MaskPreview": collect, "PreviewAny": collect}


async def execute(prompt: dict, core: dict[str, Callable[..., tuple]], mappings: dict | None = None
                  ) -> dict[str, tuple]:
    """Every node once, dependencies first, like ComfyUI's executor (without its cache); results by node id."""
    mappings = load_pack().NODE_CLASS_MAPPINGS if mappings is None else mappings
    results: dict[str, tuple] = {}

    async def run(node_id: str) -> tuple:
        if node_id not in results:
            node = prompt[node_id]
            kwargs = {name: (await run(v[0]))[v[1]] if isinstance(v, list) else v for name, v in node["inputs"].items()}
            kind = node["class_type"]
            if kind in core:
                results[node_id] = core[kind](node_id, **kwargs)
            else:
                cls = mappings[kind]
                if "unique_id" in cls.INPUT_TYPES().get("hidden", {}):
                    kwargs["unique_id"] = node_id
                out = getattr(cls(), cls.FUNCTION)(**kwargs)
                results[node_id] = await out if inspect.isawaitable(out) else out
        return results[node_id]

    for node_id in prompt:
        await run(node_id)
    return results


def run_offline(prompt: dict, outputs: dict | None = None) -> dict[str, tuple]:
    """execute() with the core equivalents, from synchronous code."""
    return asyncio.run(execute(prompt, core_nodes(outputs)))
