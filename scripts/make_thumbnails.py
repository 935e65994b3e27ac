"""Make the template thumbnails workflows/<name>.jpg from real runs of workflows/api/<name>.json.

    python scripts/make_thumbnails.py [--width 256] [NAME ...]

Each API workflow is run through the pack's node classes against an in-process stand-in endpoint (never the real
service, so no credentials are used and no call is billed); the few core nodes the workflows use are replaced by
small equivalents. The thumbnail is square, like the template browser's cards: the input with the erased area tinted
red above the result (a 2 x 2 grid when the eraser makes several variants). ComfyUI lists a template's same-name .jpg
as its thumbnail.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack_loader import ROOT, load_pack

WORKFLOWS = ROOT / "workflows"
INPUTS = WORKFLOWS / "inputs"
ERASER = "VolcengineInpaintErase"
GAP = 2
TINT = np.array([1.0, 0.1, 0.1], np.float32)


# --- minimal stand-ins for the core nodes the bundled workflows use ----------------------------------------------

def load_image(image: str) -> tuple:
    """ComfyUI's LoadImage rule: RGB 0..1, mask = 1 - alpha, or a 64x64 zero mask without alpha."""
    import torch

    with Image.open(INPUTS / image) as im:
        rgb = torch.from_numpy(np.asarray(im.convert("RGB"), np.float32) / 255.0)[None]
        if "A" in im.getbands():
            return rgb, 1.0 - torch.from_numpy(np.asarray(im.getchannel("A"), np.float32) / 255.0)[None]
    return rgb, torch.zeros((1, 64, 64))


def sink(**_: object) -> tuple:
    return ()


CORE: dict[str, Callable[..., tuple]] = {"LoadImage": load_image, "SaveImage": sink, "PreviewImage": sink,
                                         "MaskPreview": sink, "PreviewAny": sink}


async def execute(prompt: dict, mappings: dict) -> dict[str, tuple]:
    """Every node once, dependencies first (ComfyUI's order without its cache)."""
    results: dict[str, tuple] = {}

    async def run(node_id: str) -> tuple:
        if node_id not in results:
            node = prompt[node_id]
            kwargs = {name: (await run(v[0]))[v[1]] if isinstance(v, list) else v for name, v in node["inputs"].items()}
            if node["class_type"] in CORE:
                results[node_id] = CORE[node["class_type"]](**kwargs)
            else:
                cls = mappings[node["class_type"]]
                out = getattr(cls(), cls.FUNCTION)(**kwargs)
                results[node_id] = await out if inspect.isawaitable(out) else out
        return results[node_id]

    for node_id in prompt:
        await run(node_id)
    return results


# --- picture ------------------------------------------------------------------------------------------------------

def to_pil(array: np.ndarray, width: int, height: int) -> Image.Image:
    """The picture scaled to cover width x height, centred (the card is square: no bars, nothing stretched)."""
    image = Image.fromarray(np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return ImageOps.fit(image, (width, height), Image.LANCZOS)


def tinted(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The input with the area to erase tinted red, so the thumbnail says what goes."""
    weight = 0.55 * np.clip(mask, 0, 1)[..., None]
    return image * (1 - weight) + TINT * weight


def thumbnail(before: np.ndarray, mask: np.ndarray, after: np.ndarray, width: int) -> Image.Image:
    """A square (ComfyUI's template cards are square): the input above, the result below, or a 2 x 2 grid of results
    when the eraser made several variants."""
    half = (width - GAP) // 2
    sheet = Image.new("RGB", (width, width), "white")
    sheet.paste(to_pil(tinted(before, mask), width, half), (0, 0))
    if len(after) == 1:
        sheet.paste(to_pil(after[0], width, width - half - GAP), (0, half + GAP))
        return sheet
    cell_w, cell_h = (width - GAP) // 2, (width - half - 2 * GAP) // 2
    for i, image in enumerate(after[:4]):
        sheet.paste(to_pil(image, cell_w, cell_h), ((i % 2) * (width - cell_w), half + GAP + (i // 2) * (cell_h + GAP)))
    return sheet


def before_after(prompt: dict, results: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input image, mask the eraser got at the image's size, erased images) of the workflow's eraser."""
    eraser_id = next(k for k, v in prompt.items() if v["class_type"] == ERASER)
    inputs = prompt[eraser_id]["inputs"]
    image = results[inputs["image"][0]][inputs["image"][1]][0].numpy()
    mask = results[inputs["mask"][0]][inputs["mask"][1]][0].numpy()
    if mask.shape != image.shape[:2]:
        mask = np.zeros(image.shape[:2], np.float32)
    return image, mask, results[eraser_id][0].numpy()


# --- main -----------------------------------------------------------------------------------------------------------

def use_stand_in():
    """Start an in-process stand-in and point the pack at it, whatever credentials the shell holds."""
    pack = load_pack()
    standin_mod = importlib.import_module(pack.__name__ + ".utils.standin")
    standin = standin_mod.StandIn().start()
    os.environ.update(VOLC_VISUAL_ENDPOINT=standin.endpoint, VOLC_ACCESSKEY=standin_mod.STANDIN_ACCESS_KEY,
                      VOLC_SECRETKEY=standin_mod.STANDIN_SECRET_KEY)
    os.environ.pop("VOLC_SESSION_TOKEN", None)
    return standin


def make(name: str, width: int, mappings: dict, folder: Path = WORKFLOWS) -> Path:
    prompt = json.loads((WORKFLOWS / "api" / f"{name}.json").read_text(encoding="utf-8"))
    results = asyncio.run(execute(prompt, mappings))
    image, mask, erased = before_after(prompt, results)
    target = folder / f"{name}.jpg"
    # No EXIF or comments: a thumbnail carries nothing about the run that made it.
    thumbnail(image, mask, erased, width).save(target, "JPEG", quality=85, optimize=True, progressive=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="workflow names (default: every workflows/api/*.json)")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--out", type=Path, default=WORKFLOWS,
                        help="folder (default workflows/, beside the templates; README pictures: workflows/previews)")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.names or sorted(p.stem for p in (WORKFLOWS / "api").glob("*.json"))
    standin = use_stand_in()
    try:
        mappings = load_pack().NODE_CLASS_MAPPINGS
        for name in names:
            target = make(name, args.width, mappings, args.out)
            with Image.open(target) as im:
                print(f"{target}: {im.width}x{im.height}, {target.stat().st_size} bytes")
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
