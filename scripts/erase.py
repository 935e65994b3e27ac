"""Erase with the same code path as the ComfyUI node, from the command line, one image or thousands.

    python scripts/erase.py IMAGE_OR_FOLDER [...] [--mask MASK_OR_FOLDER ...] --out DIR [--concurrency N] ...

Inputs are image files and folders (their PNG/JPEG/WebP files; --recursive for sub-folders). A mask file is white =
erase; one --mask serves every image, one per image pairs in order, and a mask folder pairs by file name stem
(photos/cat.jpg <- masks/cat.png). An image without a mask uses its own transparency (LoadImage's rule: transparent =
erase), else it is reported and skipped. Results go to DIR as <name>_v<k>.png, each written as soon as it is done;
report.jsonl gets one line per image and report.json this run's lines as a list. Re-running skips images whose
outputs exist (--overwrite redoes them). Exit 0 when every image is done, 1 with one message otherwise, 130 after
Ctrl-C. --snap-to-objects first turns each mask into the complete objects it touches (entity segmentation, as the
Entity Mask node with select = hint), so a rough stroke is enough; --add-logo and the --logo-* options add the
service's watermark. Honours VOLC_VISUAL_ENDPOINT, VOLC_ACCESSKEY, VOLC_SECRETKEY; --stand-in runs against the local
stand-in.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack_loader import PACK, load_pack  # noqa: E402

load_pack(nodes=False)  # utils only: the CLI needs neither the node classes nor torch
from aimd import Aimd  # noqa: E402
from batch import BatchRunner, exit_code, steady_heap, summary_lines  # noqa: E402
from batch_files import PlanError, ReportFile, parse_shard, plan_jobs, shard, sweep_stale_parts  # noqa: E402

client_module = importlib.import_module(f"{PACK}.utils.api.client")
erase_module = importlib.import_module(f"{PACK}.utils.erase")
errors = importlib.import_module(f"{PACK}.utils.api.errors")
limiter_module = importlib.import_module(f"{PACK}.utils.api.limiter")
specs = importlib.import_module(f"{PACK}.utils.specs")
validate = importlib.import_module(f"{PACK}.utils.validate")
entities = importlib.import_module(f"{PACK}.utils.entities")


def _add_option(parser, spec) -> None:
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


def add_batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", type=Path, help="image files and/or folders of PNG/JPEG/WebP images")
    p.add_argument("--mask", action="append", type=Path, default=[],
                   help="mask file (white = erase) for all images, once per image, or a folder of masks matched by "
                        "file name stem")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--recursive", action="store_true", help="also take images from sub-folders (mirrored in --out)")
    p.add_argument("--overwrite", action="store_true", help="redo images whose outputs already exist")
    p.add_argument("--concurrency", type=int, default=None,
                   help="images loaded and calls in flight at once (default: VOLC_MAX_CONCURRENCY, else "
                        f"{limiter_module.DEFAULT_MAX_CONCURRENCY}); lowered by itself on sustained rate limits")
    p.add_argument("--shard", metavar="K/N", help="take only the K-th of N equal shares of the images, to split one "
                   "folder across N processes or machines writing to the same --out")
    p.add_argument("--stand-in", action="store_true", help="run against a local stand-in endpoint (no credentials)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    add_batch_options(p)
    widgets = p.add_argument_group("erase options (the node's widgets)")
    for spec in specs.ERASE.values():
        _add_option(widgets, spec)
    logo = p.add_argument_group("watermark (the Volcengine Logo Info node)")
    for spec in specs.LOGO_INFO.values():
        _add_option(logo, spec)
    p.add_argument("--snap-to-objects", action="store_true",
                   help="the mask becomes the complete objects it touches (one entity segmentation call per image)")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.concurrency is not None and args.concurrency < 1:
        parser.error("--concurrency must be 1 or more")
    try:
        args.shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        parser.error(str(exc))
    return args


def node_kwargs(args: argparse.Namespace) -> dict:
    """The node's widget values (labels, as ComfyUI sends them), already typed by argparse."""
    return {name: getattr(args, name) for name in specs.ERASE}


def logo_info(args: argparse.Namespace):
    """The watermark settings, checked as the Logo Info node checks them; None without --add-logo."""
    if not args.add_logo:
        return None
    spec = specs.LOGO_INFO
    content = validate.text("logo_text_content", args.logo_text_content, limit=specs.LOGO_TEXT_LIMIT)
    return client_module.LogoInfo(True, spec["position"].parse(args.position), spec["language"].parse(args.language),
                                  float(spec["opacity"].check(args.opacity)), content)


def settings_from_args(args: argparse.Namespace):
    """The widget values as the pipeline's settings, mapped as the node maps them."""
    value = node_kwargs(args)
    options = client_module.InpaintOptions(**{name: value[name] for name in (
        "steps", "strength", "scale", "seed", "dilate_size", "quality", "return_url")}, logo_info=logo_info(args))
    return erase_module.EraseSettings(
        options=options, variants=value["variants"], mask_grow=value["mask_grow"], feather=value["feather"],
        crop=value["crop_to_mask"], context=value["context"], paste_back=value["paste_back"],
        ghost_retries=value["ghost_face_retries"],
        **{name: specs.ERASE[name].parse(value[name]) for name in ("on_ghost_face", "on_item_error", "on_empty_mask")})


async def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    settings.validate()  # every value named before any file is read or call made
    jobs = plan_jobs(args.images, args.mask, args.out, settings.variants, args.recursive)
    if args.shard:
        jobs = shard(jobs, *args.shard)
    client = client_module.VisualClient(config=client_module.ClientConfig(read_timeout=args.timeout))
    client.credentials  # noqa: B018 - a missing key fails here, before any image is loaded
    args.out.mkdir(parents=True, exist_ok=True)
    sweep_stale_parts({job.outputs[0].parent for job in jobs})
    limiter = limiter_module.LIMITER
    previous = limiter.limit
    ceiling = args.concurrency or previous
    limiter.set_limit(ceiling)  # the process-wide bound: --concurrency raises (or lowers) it
    aimd = Aimd(ceiling, limiter.set_limit)
    report = ReportFile(args.out, f"report-{args.shard[0]}of{args.shard[1]}.json" if args.shard else "report.json")

    async def erase(image, mask, extra: dict):
        if args.snap_to_objects:  # the rough mask becomes the objects it touches; the report line says which
            snapped = await entities.entity_masks(image, client, entities.EntitySettings(), mask)
            mask, extra["snap"] = snapped.masks, snapped.reports[0]
        return await erase_module.erase_batch(image, mask, settings, client)

    runner = BatchRunner(jobs, erase, report,
                         concurrency=ceiling, overwrite=args.overwrite, aimd=aimd,
                         keep_originals=settings.on_item_error == "original")
    try:
        outcome = await runner.run()
    finally:
        limiter.set_limit(previous)
        report.close()
    for line in summary_lines(outcome, aimd):
        print(line)
    print(f"report: {report.json} (all runs, one line per image: {report.jsonl.name})")
    code, message = exit_code(outcome)
    if message:
        print(message, file=sys.stderr)
    return code


def _start_standin():
    from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, StandIn

    standin = StandIn().start()
    os.environ.update(VOLC_VISUAL_ENDPOINT=standin.endpoint, VOLC_ACCESSKEY=STANDIN_ACCESS_KEY,
                      VOLC_SECRETKEY=STANDIN_SECRET_KEY)
    os.environ.pop("VOLC_SESSION_TOKEN", None)
    return standin


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    standin = _start_standin() if args.stand_in else None
    try:
        return asyncio.run(run(args))
    except (PlanError, errors.VolcError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename or ''})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the batch started (planning a huge folder): nothing was done
        print("interrupted before any image was started", file=sys.stderr)
        return 130
    finally:
        if standin is not None:
            standin.stop()


if __name__ == "__main__":
    steady_heap()
    sys.exit(main())
