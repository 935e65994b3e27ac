"""Helpers of the service-variation tests (sizes, watermark, seam) through the node and the CLI."""
from __future__ import annotations

import numpy as np
import torch
from volc_pack.utils.standin.variations import mark_box


def sky(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A smooth picture with mild noise: a seam of a few levels would show on it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([0.3 + 0.4 * xx / width, 0.5 + 0.3 * yy / height, 0.8 - 0.2 * xx / width], -1)
    return torch.from_numpy(np.clip(base[None] + rng.normal(0, 0.01, (1, height, width, 3)), 0, 1).astype(np.float32))


def ring_steps(before: np.ndarray, after: np.ndarray, rect: tuple[int, int, int, int], dilate: int,
               inside: int = 4, outside: int = 24) -> list[float]:
    """How much the erase's effect (after - before, in levels, averaged per channel over rings 1 px wide at
    distance dilate-inside .. dilate+outside from the rectangle y0, y1, x0, x1) jumps from one ring to the next:
    a seam is a jump. Beyond the paste support the effect is exactly 0, so the last jump is the outer seam."""
    y0, y1, x0, x1 = rect
    yy, xx = np.mgrid[0:before.shape[0], 0:before.shape[1]]
    dx = np.maximum(np.maximum(x0 - xx, xx - (x1 - 1)), 0)
    dy = np.maximum(np.maximum(y0 - yy, yy - (y1 - 1)), 0)
    distance = np.hypot(dx, dy) - dilate
    effect = (np.asarray(after, np.float64) - np.asarray(before, np.float64)) * 255.0
    means = [effect[(distance > k - 1) & (distance <= k)].mean(axis=0) for k in range(-inside, outside + 1)]
    return [float(np.abs(a - b).max()) for a, b in zip(means[:-1], means[1:], strict=True)]


def expected_mark(item: dict, settings: dict) -> tuple[int, int, int, int]:
    """Where the stand-in's mark lands in the full image, from a report item (region sent at scale 1)."""
    x0, y0, x1, y1 = item["region"]
    send_w, send_h = item["sent_size"]
    assert (x1 - x0, y1 - y0) == (send_w, send_h), "these tests send crops unscaled and unpadded"
    mx0, my0, mx1, my1 = mark_box(send_w, send_h, {"add_logo": True, **settings})
    return x0 + mx0, y0 + my0, x0 + mx1, y0 + my1


def corner_of(box: tuple[int, int, int, int], width: int, height: int, reach: int = 40) -> int:
    """Which corner (0 bottom-right, 1 bottom-left, 2 top-left, 3 top-right) a box touches within `reach` px."""
    x0, y0, x1, y1 = box
    right, left, top, bottom = width - x1 <= reach, x0 <= reach, y0 <= reach, height - y1 <= reach
    assert right != left and top != bottom, f"{box} is not in one corner of {width}x{height}"
    return {(True, True): 0, (False, True): 1, (False, False): 2, (True, False): 3}[(right, bottom)]
