"""Folders of small photos and masks for the batch CLI tests, and running the CLI as its own process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
ERASE = ROOT / "scripts" / "erase.py"
WIDTH, HEIGHT = 96, 72


def square(index: int) -> tuple[slice, slice]:
    """Each photo's object sits somewhere else, so a report's region shows which mask was used."""
    x0, y0 = 8 + (index % 4) * 16, 8 + (index % 3) * 12
    return slice(y0, y0 + 20), slice(x0, x0 + 24)


def photo(index: int) -> np.ndarray:
    rng = np.random.default_rng(index)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack([xx * 255 // WIDTH, yy * 255 // HEIGHT, np.full_like(xx, 40 + index * 7 % 200)], -1)
    rgb = np.clip(rgb + rng.integers(0, 12, rgb.shape), 0, 255).astype(np.uint8)
    rgb[square(index)] = (250, 20, 20)
    return rgb


def mask(index: int) -> np.ndarray:
    out = np.zeros((HEIGHT, WIDTH), np.uint8)
    out[square(index)] = 255
    return out


def write_photo(path: Path, index: int, *, painted: bool = False) -> Path:
    """A photo (format from the suffix); painted: RGBA whose transparent square is the area to erase."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = photo(index)
    if painted:
        alpha = 255 - mask(index)
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    else:
        Image.fromarray(rgb).save(path, **({"quality": 92} if path.suffix.lower() in (".jpg", ".jpeg") else {}))
    return path


def write_mask(path: Path, index: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask(index)).save(path)
    return path


def photo_folder(root: Path, count: int, *, suffix: str = ".png") -> tuple[Path, Path]:
    """root/photos/pNNN<suffix> and root/masks/pNNN.png; returns both folders."""
    for i in range(count):
        write_photo(root / "photos" / f"p{i:03d}{suffix}", i)
        write_mask(root / "masks" / f"p{i:03d}.png", i)
    return root / "photos", root / "masks"


def cli_env(standin) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOLC_")}
    env.update(VOLC_VISUAL_ENDPOINT=standin.endpoint, VOLC_ACCESSKEY=STANDIN_ACCESS_KEY,
               VOLC_SECRETKEY=STANDIN_SECRET_KEY, PYTHONUNBUFFERED="1")
    return env


def start_cli(args: list[str], standin, **popen) -> subprocess.Popen:
    """scripts/erase.py as its own process (as a user runs it), against the test's stand-in."""
    return subprocess.Popen([sys.executable, str(ERASE), *map(str, args)], cwd=ROOT, env=cli_env(standin),
                            **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen})


def outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*_v*.png") if not p.name.startswith("."))
