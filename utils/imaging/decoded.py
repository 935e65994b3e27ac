"""The service's results as decoded pictures, read a band of rows at a time.

A 4096² result is 48 MB as uint8 and 64 MB as Pillow holds it (4 bytes a pixel); making a numpy copy of the whole
of it would also pass through a full-size bytes object on the way. Paste-back only ever needs a band of rows, so the
result stays a Pillow image and bands are copied out as they are blended.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def open_image(data: bytes) -> Image.Image:
    """JPEG/PNG/... bytes -> a decoded RGB Pillow image. Raises ValueError when the bytes are not a readable image."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise ValueError("cannot decode image: no image data received")
    try:
        img = Image.open(io.BytesIO(data))  # no `with`: closing the image would drop the pixels just decoded
        img.load()
        return img if img.mode == "RGB" else img.convert("RGB")
    except Exception as exc:  # Pillow raises OSError, SyntaxError, DecompressionBombError, ... for bad data
        raise ValueError(f"cannot decode image ({len(data)} bytes): {type(exc).__name__}: {exc}") from exc


class ImageRows:
    """A decoded picture read a band at a time: rows[r0:r1] or rows[r0:r1, c0:c1] is a uint8 [h, w, 3] array of just
    those pixels (contiguous ranges only). Holding the picture costs Pillow's 4 bytes a pixel; the full-size uint8
    copy, and the full-size bytes Pillow builds on the way to numpy, are never made."""

    def __init__(self, img: Image.Image) -> None:
        self.img = img
        self.shape = (img.height, img.width, 3)

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        r0, r1, row_step = rows.indices(self.shape[0])
        c0, c1, col_step = cols.indices(self.shape[1])
        if row_step != 1 or col_step != 1:
            raise IndexError("ImageRows reads contiguous bands only")
        r1, c1 = max(r0, r1), max(c0, c1)
        if r1 == r0 or c1 == c0:
            return np.zeros((r1 - r0, c1 - c0, 3), np.uint8)
        return np.asarray(self.img.crop((c0, r0, c1, r1)))
