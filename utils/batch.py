"""What both pipelines (erase, segment) need around a batch: the IMAGE shape check and an all-or-nothing gather."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

import numpy as np

from .api.errors import InputError


def check_images(images: np.ndarray) -> tuple[int, int, int]:
    """images must be ComfyUI's IMAGE layout [batch, height, width, channels]; returns (batch, height, width)."""
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or min(images.shape[:3]) < 1:
        raise InputError(f"image has shape {tuple(images.shape)}, not [batch, height, width, channels].",
                         hint="Connect an IMAGE output (e.g. from Load Image).")
    return images.shape[0], images.shape[1], images.shape[2]


async def gather_all(coros: Iterable[Awaitable[Any]]) -> list[Any]:
    """Run all; on the first error cancel the rest (their calls would be wasted) and raise that error."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
