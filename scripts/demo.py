"""Erase the bundled example (a CC0 photo of a coffee cup; the spoon is painted out) through the node's code path.

    python scripts/demo.py [--variants N] [--out DIR]

Sets up .venv on first use. Without credentials it runs against the local stand-in endpoint (its fill is a simple
classical one, not the real model); with VOLC_ACCESSKEY / VOLC_SECRETKEY set it calls the real service.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bootstrap  # noqa: E402

bootstrap.ensure(["httpx", "PIL", "numpy", "torch"], [])

from PIL import Image  # noqa: E402

import erase  # noqa: E402
from pack_loader import ROOT, load_pack  # noqa: E402

EXAMPLE = ROOT / "workflows" / "inputs" / "coffee.png"
EXAMPLE_MASK = ROOT / "workflows" / "inputs" / "coffee_mask.png"


def side_by_side(before: Path, afters: list[Path], target: Path) -> None:
    images = [Image.open(p).convert("RGB") for p in [before, *afters]]
    width, height = images[0].size
    sheet = Image.new("RGB", (width * len(images), height), "white")
    for i, im in enumerate(images):
        sheet.paste(im, (i * width, 0))
    sheet.save(target)


def main() -> int:
    parser = argparse.ArgumentParser(description="Erase the bundled example.")
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo")
    args = parser.parse_args()
    pack = load_pack()
    try:
        pack.utils.api.credentials.resolve_credentials()
        use_standin = False
        print("Credentials found: calling the real Volcengine service (this is billed).")
    except pack.utils.api.errors.CredentialsError:
        use_standin = True
        print("No credentials set: using the local stand-in endpoint (a classical fill, not the real model).")
    argv = [str(EXAMPLE), "--mask", str(EXAMPLE_MASK), "--out", str(args.out), "--variants", str(args.variants),
            "--seed", "1"] + (["--stand-in", "--overwrite"] if use_standin else [])  # real calls: keep paid results
    code = erase.main(argv)
    if code == 0:
        afters = sorted(args.out.glob(f"{EXAMPLE.stem}_v*.png"))
        sheet = args.out / "before_after.png"
        side_by_side(EXAMPLE, afters, sheet)
        print(f"before: {EXAMPLE}\nafter:  {', '.join(map(str, afters))}\nside by side: {sheet}")
    return code


if __name__ == "__main__":
    sys.exit(main())
