"""Shared by the benchmark figures: loading the pack, machine facts, test pictures, timing helpers.

Test pictures are the bundled CC0 photo (workflows/inputs/coffee.png, 600x400) centre-cropped to the wanted aspect,
upscaled with Pillow's bicubic filter and given mild sensor-like noise (sigma 2.5 grey levels): photo-like content
(smooth areas, edges, texture), never pure noise, and reproducible. Its painted spoon mask
(workflows/inputs/coffee_mask.png, ~5.5% of the frame) is the "moderate object".
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from pack_loader import load_pack  # noqa: E402
from rss import peak_rss_mb, ru_maxrss_mb  # noqa: E402, F401  (re-exported: figures import them from here)

pack = load_pack()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

PHOTO = ROOT / "workflows" / "inputs" / "coffee.png"
PHOTO_MASK = ROOT / "workflows" / "inputs" / "coffee_mask.png"
NOISE_SIGMA = 2.5  # grey levels


def machine_facts() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import PIL
    return {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "numpy": np.__version__, "pillow": PIL.__version__, "os": f"{platform.system()} {platform.release()}"}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _aspect_crop(img: Image.Image, width: int, height: int) -> Image.Image:
    """Centre crop of `img` to the aspect ratio width:height."""
    w, h = img.size
    if w * height > h * width:  # too wide
        cw = round(h * width / height)
        return img.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    ch = round(w * height / width)
    return img.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))


def photo_uint8(width: int, height: int, seed: int = 0, noise: float = NOISE_SIGMA) -> np.ndarray:
    """uint8 [height, width, 3]: the coffee photo cropped to aspect, upscaled, plus Gaussian noise (grey levels)."""
    src = _aspect_crop(Image.open(PHOTO).convert("RGB"), width, height)
    out = np.array(src.resize((width, height), Image.Resampling.BICUBIC))  # writable copy
    rng = np.random.default_rng(seed)
    rows = max(1, (1 << 20) // (width * 3))
    for r0 in range(0, height, rows):  # row chunks: an 8K frame never needs a full-frame float temporary
        part = out[r0:r0 + rows]
        noisy = part + rng.standard_normal(part.shape, dtype=np.float32) * np.float32(noise)
        np.clip(noisy + 0.5, 0, 255, out=noisy)
        np.copyto(part, noisy, casting="unsafe")
    return out


def to_float(rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8 [H,W,3] -> float32 [H,W,3] in 0..1 (what a ComfyUI IMAGE holds), in row chunks."""
    if out is None:
        out = np.empty(rgb.shape, np.float32)
    rows = max(1, (1 << 20) // (rgb.shape[1] * 3))
    for r0 in range(0, rgb.shape[0], rows):
        np.divide(rgb[r0:r0 + rows], np.float32(255.0), out=out[r0:r0 + rows], dtype=np.float32)
    return out


def spoon_mask(width: int, height: int) -> np.ndarray:
    """float32 [height, width] 0/1: the painted spoon of the coffee photo, cropped and scaled like photo_uint8."""
    src = _aspect_crop(Image.open(PHOTO_MASK).convert("L"), width, height)
    return (np.asarray(src.resize((width, height), Image.Resampling.NEAREST)) > 127).astype(np.float32)


def ellipse_mask(width: int, height: int, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """float32 [height, width] with a filled ellipse (centre and radii in pixels); work only on its bounding box."""
    mask = np.zeros((height, width), np.float32)
    y0, y1 = max(0, int(cy - ry)), min(height, int(cy + ry) + 1)
    x0, x1 = max(0, int(cx - rx)), min(width, int(cx + rx) + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    mask[y0:y1, x0:x1] = (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0)
    return mask


def warm_malloc() -> None:
    """Allocate and free one 31 MiB block, as any long-running image process (ComfyUI) soon has.

    glibc raises its mmap threshold to the size of the largest freed mmapped block (up to 32 MiB). Before that,
    every image-sized buffer is a fresh mmap whose pages fault in again on each use (slow on VMs), after it they are
    reused heap memory; which state a measurement starts in would otherwise depend on what ran before it (seen here:
    the same Pillow encode 33 vs 42 ms).
    """
    block = np.ones(31 << 20, np.uint8)
    del block


def cpu_seconds(fn, reps: int) -> tuple[float, list[float]]:
    """Median process CPU time (all threads) of fn() over reps runs, and all samples."""
    samples = []
    for _ in range(reps):
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return statistics.median(samples), samples


def standin_credentials():
    from volc_pack.utils.api.credentials import Credentials
    from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY
    return Credentials(STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, source="bench")


def standin_client(endpoint: str, limit: int):
    """A VisualClient on the stand-in with its own concurrency bound (not the process-wide one)."""
    from volc_pack.utils.api.client import ClientConfig, VisualClient
    from volc_pack.utils.api.limiter import ProcessLimiter
    return VisualClient(standin_credentials(), ClientConfig(endpoint=endpoint, read_timeout=120.0),
                        limiter=ProcessLimiter(limit))
