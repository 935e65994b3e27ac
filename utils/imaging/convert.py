"""A ComfyUI IMAGE (float 0..1, any channels, may hold NaN/inf) -> uint8 RGB, in row chunks.

Images may be 8K (400 MB as float32), so conversions work in row chunks instead of full-frame temporaries. A big
image is converted on two threads (numpy releases the GIL in its loops); `Converting` converts in the background
while the encoder already looks at samples of the picture.
"""
from __future__ import annotations

import threading

import numpy as np

from ..api.errors import InputError
from .overlap import both, submit

_CHUNK_FLOATS = 1 << 20     # ~4 MB float32 working buffer per row chunk
_SPLIT_PIXELS = 1 << 20     # from this size on, to_uint8 converts the two halves of an image on two threads


def _check_float_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{name} has shape {arr.shape}, expected [height, width, channels] with 1, 3 or 4 channels",
                         hint=f"Connect an IMAGE to `{name}` (one picture of a batch is [H, W, C]).")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)  # rare (ints from a custom node); the chunked path handles floats only
    return arr


def iter_sanitized_rows(image: np.ndarray):
    """Yield (row0, row1, float32 [rows, W, 3 or 1]) chunks of `image` with NaN -> 0 and values clipped to 0..1.

    The buffer is reused between chunks: consume it before asking for the next one.
    """
    arr = _check_float_image(image)
    h, w, c = arr.shape
    ch = 1 if c == 1 else 3
    rows = max(1, _CHUNK_FLOATS // (w * ch))
    buf = np.empty((min(rows, h), w, ch), dtype=np.float32)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        part = buf[: r1 - r0]
        np.clip(arr[r0:r1, :, :ch], 0.0, 1.0, out=part)  # reads float64 / strided sources once; inf -> 0 or 1
        if np.isnan(part.min()):  # clip keeps NaN; a cheap reduction finds them, the rare repair may cost more
            np.fmax(part, 0.0, out=part)
        yield r0, r1, part


def sanitize_into(image: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write `image` (float [H,W,C], C 1/3/4) into float32 [H,W,3] `out` as RGB, NaN -> 0, clipped to 0..1."""
    arr = _check_float_image(image)
    if arr.shape[2] == 1:
        for r0, r1, part in iter_sanitized_rows(arr):
            np.copyto(out[r0:r1], part)  # broadcasts greyscale to RGB
        return out
    rows = max(1, _CHUNK_FLOATS // (arr.shape[1] * 3))
    for r0 in range(0, arr.shape[0], rows):  # straight into `out`: no intermediate buffer
        part = out[r0:r0 + rows]
        np.clip(arr[r0:r0 + rows, :, :3], 0.0, 1.0, out=part)
        if np.isnan(part.min()):
            np.fmax(part, 0.0, out=part)
    return out


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [H,W,C] (C 1/3/4, any float dtype, any strides, NaN/inf allowed) -> contiguous uint8 [H,W,3] RGB.

    NaN -> 0, clip 0..1, x*255 rounded half-up; greyscale is expanded to RGB, alpha dropped.
    """
    arr = _check_float_image(image)
    height, width = arr.shape[:2]
    out = np.empty((height, width, 3), dtype=np.uint8)
    if height * width < _SPLIT_PIXELS:
        _to_uint8_rows(arr, out)
        return out
    mid = height // 2  # the row chunks do not depend on where the image starts: the same bytes either way
    both(lambda: _to_uint8_rows(arr[:mid], out[:mid]), lambda: _to_uint8_rows(arr[mid:], out[mid:]))
    return out


def _to_uint8_rows(arr: np.ndarray, out: np.ndarray) -> None:
    for r0, r1, part in iter_sanitized_rows(arr):
        part *= 255.0
        part += 0.5  # + truncation below == floor(x + 0.5): round half-up, values are >= 0
        np.copyto(out[r0:r1], part, casting="unsafe")  # broadcasts a greyscale chunk to 3 channels


class Converting:
    """to_uint8(image) started on the pool in row chunks the moment it is made, for an encoder that first looks at
    samples: conv[index] converts just those rows here (the same values), conv.result() joins in converting what is
    left and returns the whole uint8 [H,W,3]. So the sampling overlaps the conversion (codec.encode_image_with)."""

    def __init__(self, image: np.ndarray) -> None:
        self._arr = _check_float_image(image)
        height, width, channels = self._arr.shape
        self.shape = (height, width, 3)
        self._out = np.empty(self.shape, dtype=np.uint8)
        self._rows = max(1, _CHUNK_FLOATS // (width * (1 if channels == 1 else 3)))
        self._next, self._lock = 0, threading.Lock()
        self._helper = submit(self._convert)

    def _take(self) -> int | None:
        with self._lock:
            start, self._next = self._next, self._next + self._rows
        return start if start < self.shape[0] else None

    def _convert(self) -> None:
        while (start := self._take()) is not None:
            stop = start + self._rows
            _to_uint8_rows(self._arr[start:stop], self._out[start:stop])

    def __getitem__(self, index) -> np.ndarray:
        """Rows (first axis only: a slice or an index array), converted now."""
        return to_uint8(self._arr[index])

    def result(self) -> np.ndarray:
        self._convert()
        self._helper.result()  # the chunk the pool may still be on
        return self._out
