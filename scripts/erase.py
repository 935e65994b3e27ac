"""Erase with the same code path as the ComfyUI node, from the command line.

    python scripts/erase.py IMAGE [IMAGE ...] [--mask MASK ...] --out DIR [--variants N] [--seed N] ...

A mask file is white = erase; an image or mask file with transparency uses LoadImage's rule (transparent = erase),
so a picture painted in ComfyUI's Mask Editor needs no separate mask. One --mask serves every image, or give one
per image. --snap-to-objects first turns each mask into the complete objects it touches (entity segmentation, as the
Entity Mask node with select = hint), so a rough stroke is enough. Results go to DIR as <name>_v<k>.png plus
report.json. Exit 0 on success, 1 with one message on failure.
Honours VOLC_VISUAL_ENDPOINT, VOLC_ACCESSKEY, VOLC_SECRETKEY; --stand-in runs against the local stand-in instead.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack_loader import load_pack  # noqa: E402


def load_pack_module(name: str):
    """A module of the pack, loaded the way ComfyUI loads it."""
    return sys.modules[f"{load_pack().__name__}.{name}"]


def _add_option(parser: argparse.ArgumentParser, spec) -> None:
    """One node widget as an option: same name (dashes), default, range and choices as in ComfyUI."""
    flag = spec.cli_flag or "--" + spec.name.replace("_", "-")
    if spec.type == "BOOLEAN":  # a switch that changes the node's default
        flag = spec.cli_flag or (f"--no-{flag[2:]}" if spec.default else flag)
        action = "store_false" if spec.default else "store_true"
        parser.add_argument(flag, dest=spec.name, action=action, help=spec.cli_help or spec.tooltip)
        return
    kind = {"INT": int, "FLOAT": float}.get(spec.type)
    limits = f"{spec.min}..{spec.max}, " if kind else ""
    shown = "empty" if spec.default == "" else spec.default
    parser.add_argument(flag, dest=spec.name, type=kind, choices=spec.labels or None, default=spec.default,
                        help=f"{spec.cli_help or spec.tooltip} ({limits}default {shown})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("images", nargs="+", type=Path, help="image files (PNG/JPEG/WebP...)")
    p.add_argument("--mask", action="append", type=Path, default=[],
                   help="mask file (white = erase); once, or once per image")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    specs = load_pack_module("utils.specs")
    for spec in specs.ERASE.values():
        _add_option(p, spec)
    logo = p.add_argument_group("watermark (the Volcengine Logo Info node)")
    for spec in specs.LOGO_INFO.values():
        _add_option(logo, spec)
    p.add_argument("--snap-to-objects", action="store_true",
                   help="the mask becomes the complete objects it touches (one entity segmentation call per image)")
    p.add_argument("--stand-in", action="store_true", help="run against a local stand-in endpoint (no credentials)")
    args = p.parse_args(argv)
    if args.mask and len(args.mask) not in (1, len(args.images)):
        p.error(f"give one --mask, or one per image ({len(args.images)}); got {len(args.mask)}")
    return args


def load_image(path: Path):
    """Like ComfyUI's LoadImage: RGB in 0..1 plus mask = 1 - alpha (all zero without alpha)."""
    import torch

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        rgb = np.asarray(im.convert("RGB"), np.float32) / 255.0
        alpha = np.asarray(im.getchannel("A"), np.float32) / 255.0 if "A" in im.getbands() else None
    mask = 1.0 - alpha if alpha is not None else np.zeros(rgb.shape[:2], np.float32)
    return torch.from_numpy(rgb)[None], torch.from_numpy(mask)[None]


def load_mask(path: Path):
    import torch

    with Image.open(path) as im:
        if "A" in im.getbands() and im.getextrema()[-1][0] < 255:
            values = 1.0 - np.asarray(im.getchannel("A"), np.float32) / 255.0
        else:
            values = np.asarray(im.convert("L"), np.float32) / 255.0
    return torch.from_numpy(values)[None]


def save_png(tensor, path: Path) -> None:
    array = np.clip(tensor.numpy() * 255.0 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(array).save(path, compress_level=4)  # no text chunks: nothing about the run is embedded


def node_kwargs(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in load_pack_module("utils.specs").ERASE}


async def snap_to_objects(image, mask, timeout: float, snaps: list):
    """The mask as the complete objects it touches; the entity report is appended to `snaps`."""
    import torch

    client_module, entities = load_pack_module("utils.api.client"), load_pack_module("utils.entities")
    client = client_module.VisualClient(config=client_module.ClientConfig(read_timeout=float(timeout)))
    out = await entities.entity_masks(image.numpy(), client, entities.EntitySettings(), mask.numpy())
    snaps.append(out.reports[0])
    return torch.from_numpy(out.masks)


def logo_info(args: argparse.Namespace):
    """The watermark settings through the Logo Info node (so they are checked as in ComfyUI); None without
    --add-logo."""
    node = load_pack().NODE_CLASS_MAPPINGS["VolcengineLogoInfo"]()
    (info,) = node.build(**{name: getattr(args, name) for name in load_pack_module("utils.specs").LOGO_INFO})
    return info if info.add_logo else None


async def run(args: argparse.Namespace, errors_module) -> list[dict]:
    pack = load_pack()
    node = pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]()
    watermark = logo_info(args)
    args.out.mkdir(parents=True, exist_ok=True)
    inputs, jobs, snaps = [], [], [[] for _ in args.images]

    async def erase(image, mask, snapped: list):
        if args.snap_to_objects:
            mask = await snap_to_objects(image, mask, args.timeout, snapped)
        return await node.erase(image, mask, **node_kwargs(args), logo_info=watermark)

    for i, path in enumerate(args.images):
        image, own_mask = load_image(path)
        mask = load_mask(args.mask[i if len(args.mask) > 1 else 0]) if args.mask else own_mask
        inputs.append(image)
        jobs.append(erase(image, mask, snaps[i]))
    # Files of different sizes cannot share one batch, so each is its own node call; on_item_error then applies
    # across files as it does across a batch: keep the others, unless every file failed.
    results = await asyncio.gather(*jobs, return_exceptions=args.on_item_error == "return original")
    failed = [r for r in results if isinstance(r, BaseException)]
    if any(not isinstance(r, errors_module.VolcError) for r in failed) or (failed and len(failed) == len(results)):
        raise failed[0]
    reports = []
    for path, image, result, snapped in zip(args.images, inputs, results, snaps, strict=True):
        if isinstance(result, BaseException):
            images = image.expand(args.variants, *image.shape[1:])
            items = [{"index": 0, "status": "partial", "variants": [
                {"status": "original", "error": str(result), "error_type": type(result).__name__}] * args.variants}]
        else:
            images, items = result[0], json.loads(result[2])
        written = []
        for k, tensor in enumerate(images, start=1):
            target = args.out / f"{path.stem}_v{k}.png"
            save_png(tensor, target)
            written.append(str(target))
        entry = {"input": str(path), "outputs": written, "items": items}
        reports.append({**entry, "snap": snapped[0]} if snapped else entry)
    (args.out / "report.json").write_text(json.dumps(reports, ensure_ascii=False, indent=1), encoding="utf-8")
    return reports


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from_errors = load_pack_module("utils.api.errors")
    for path in [*args.images, *args.mask]:
        if not path.is_file():
            print(f"error: {path} does not exist.", file=sys.stderr)
            return 1
    standin = None
    if args.stand_in:
        from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, StandIn

        standin = StandIn().start()
        os.environ.update(VOLC_VISUAL_ENDPOINT=standin.endpoint, VOLC_ACCESSKEY=STANDIN_ACCESS_KEY,
                          VOLC_SECRETKEY=STANDIN_SECRET_KEY)
        os.environ.pop("VOLC_SESSION_TOKEN", None)
    try:
        reports = asyncio.run(run(args, from_errors))
    except from_errors.VolcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename or ''})", file=sys.stderr)
        return 1
    finally:
        if standin is not None:
            standin.stop()
    for entry in reports:
        print(f"{entry['input']} -> {', '.join(entry['outputs'])}")
    print(f"report: {args.out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
