"""Make the template thumbnails workflows/<name>.jpg from real runs of workflows/api/<name>.json.

    python scripts/make_thumbnails.py [--width 256] [NAME ...]

Each API workflow is run through the pack's node classes against an in-process stand-in endpoint (never the real
service, so no credentials are used and no call is billed); the few core nodes the workflows use are replaced by
small equivalents (offline_workflow.py). The thumbnail shows the input with the erased area tinted red (and a hint
stroke the mask was snapped from in white), above the result (a 2 x 2 grid when the eraser makes several variants).
ComfyUI lists a template's same-name .jpg as its thumbnail.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from offline_workflow import run_offline  # noqa: E402
from pack_loader import ROOT, load_pack  # noqa: E402

WORKFLOWS = ROOT / "workflows"
ERASER = "VolcengineInpaintErase"
HINTED = "VolcengineEntityMask"  # its hint is a stroke worth showing: the mask it makes is the complete objects
GAP = 2
TINT = np.array([1.0, 0.1, 0.1], np.float32)


# --- picture ------------------------------------------------------------------------------------------------------

def to_pil(array: np.ndarray, width: int) -> Image.Image:
    image = Image.fromarray(np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)


def tinted(image: np.ndarray, mask: np.ndarray, stroke: np.ndarray | None = None) -> np.ndarray:
    """The input with the area to erase tinted red, so the thumbnail says what goes; a hint stroke on top in white."""
    weight = 0.55 * np.clip(mask, 0, 1)[..., None]
    out = image * (1 - weight) + TINT * weight
    if stroke is not None:
        weight = 0.75 * np.clip(stroke, 0, 1)[..., None]
        out = out * (1 - weight) + weight
    return out


def grid(images: list[Image.Image]) -> Image.Image:
    """Two per row, GAP pixels apart; a single image is returned as is."""
    if len(images) == 1:
        return images[0]
    w, h = images[0].size
    rows = (len(images) + 1) // 2
    sheet = Image.new("RGB", (2 * w + GAP, rows * h + (rows - 1) * GAP), "white")
    for i, image in enumerate(images):
        sheet.paste(image, ((i % 2) * (w + GAP), (i // 2) * (h + GAP)))
    return sheet


def thumbnail(before: np.ndarray, mask: np.ndarray, after: np.ndarray, width: int,
              stroke: np.ndarray | None = None) -> Image.Image:
    top = to_pil(tinted(before, mask, stroke), width)
    cell = width if len(after) == 1 else (width - GAP) // 2
    bottom = grid([to_pil(a, cell) for a in after])
    sheet = Image.new("RGB", (width, top.height + GAP + bottom.height), "white")
    sheet.paste(top, (0, 0))
    sheet.paste(bottom, ((width - bottom.width) // 2, top.height + GAP))
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


def hint_stroke(prompt: dict, results: dict, shape: tuple[int, int]) -> np.ndarray | None:
    """The stroke an entity mask was snapped from, when the workflow has one at the image's size."""
    node = next((v for v in prompt.values() if v["class_type"] == HINTED and "hint" in v["inputs"]), None)
    if node is None:
        return None
    stroke = results[node["inputs"]["hint"][0]][node["inputs"]["hint"][1]][0].numpy()
    return stroke if stroke.shape == shape else None


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


def make(name: str, width: int, folder: Path = WORKFLOWS) -> Path:
    prompt = json.loads((WORKFLOWS / "api" / f"{name}.json").read_text(encoding="utf-8"))
    results = run_offline(prompt)
    image, mask, erased = before_after(prompt, results)
    stroke = hint_stroke(prompt, results, image.shape[:2])
    target = folder / f"{name}.jpg"
    # No EXIF or comments: a thumbnail carries nothing about the run that made it.
    thumbnail(image, mask, erased, width, stroke).save(target, "JPEG", quality=85, optimize=True, progressive=True)
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
        for name in names:
            target = make(name, args.width, args.out)
            with Image.open(target) as im:
                print(f"{target}: {im.width}x{im.height}, {target.stat().st_size} bytes")
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
