"""Image codec for the service: JPEG/PNG encoding under the 5 MB limit, mask PNGs, resizing (float tensors ->
uint8 RGB is convert.py).

numpy + Pillow only. Images may be 8K (400 MB as float32): no full-frame temporaries beyond the picture itself.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from PIL import Image

from ..api.client import INPAINT_MAX_BASE64, SEGMENT_MAX_BASE64
from ..api.errors import InputError
from .convert import Converting
from .decoded import open_image
from .overlap import both, save_unlocked

T = TypeVar("T")


def base64_budget(chars: int) -> int:
    """The most bytes whose base64 text (4 * ceil(n / 3) characters) fits in `chars` characters."""
    return chars // 4 * 3


# Byte budgets under the strictest reading of the limits: the base64 text, not the file, stays within them.
MAX_IMAGE_BYTES = base64_budget(INPAINT_MAX_BASE64)      # 3,750,000 bytes -> 5,000,000 characters
SEGMENT_MAX_BYTES = base64_budget(SEGMENT_MAX_BASE64)    # 3,525,000 bytes -> 4,700,000 characters
MIN_SIDE = 64
MAX_SIDE = 4096

JPEG_BEST_QUALITY = 95
JPEG_MIN_QUALITY_444 = 50   # below this, chroma subsampling costs less than more quantisation
JPEG_MIN_QUALITY_420 = 10   # last resort: uniform noise at 4096x4096 still fits 5 MB at ~q30 4:2:0
PNG_LEVEL = 1               # flat images compress well even at level 1; higher levels cost 2x time for little


# ----------------------------------------------------------------------------------------------- encoding

@dataclass
class EncodedImage:
    data: bytes
    format: str  # "JPEG" or "PNG"
    quality: int | None  # JPEG quality; None for PNG


def _check_rgb(rgb: np.ndarray, name: str = "image") -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name}: expected uint8 [H, W, 3], got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr)


def _jpeg(img: Image.Image, quality: int, subsampling: int) -> bytes:
    # No icc_profile / exif arguments: Pillow writes neither for an image built from an array.
    return save_unlocked(img, format="JPEG", quality=quality, subsampling=subsampling)


def _png(img: Image.Image, level: int = PNG_LEVEL) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def _likely_png(rgb: np.ndarray) -> bool:
    """Cheap guess whether lossless PNG can beat JPEG: small images, few colours, or large flat areas."""
    h, w, _ = rgb.shape
    if h * w <= 256 * 256:
        return True
    step = max(1, h // 128)  # ~128 full rows keep horizontal neighbours intact
    rows = rgb[::step]
    eq = rows[:, 1:] == rows[:, :-1]
    same = np.count_nonzero(eq[..., 0] & eq[..., 1] & eq[..., 2]) / (rows.shape[0] * (w - 1))  # all(axis=2) is slow
    if same > 0.5:
        return True
    sample = rows[:, :: max(1, w // 512)].reshape(-1, 3).astype(np.uint32)
    packed = (sample[:, 0] << 16) | (sample[:, 1] << 8) | sample[:, 2]
    head = np.sort(packed[:4096])
    if np.count_nonzero(head[1:] != head[:-1]) + 1 > 256:  # a subset with more colours already settles it
        return False
    packed.sort()  # np.unique is hash-based since numpy 2.3 and ~5x slower here than a sort
    return int(np.count_nonzero(packed[1:] != packed[:-1])) + 1 <= 256


class _FullSize:
    """Full-size JPEG encodes of one image; the first one overlaps `alongside`, run on the pool meanwhile.

    The encode runs without the GIL once Pillow is in its C loop (overlap.save_unlocked); `alongside` may hold it
    for long stretches (the mask's PNG: whether Pillow lets it go while it deflates depends on its version). So the
    encode starts here at once, and the pool thread, still waking up, gets the GIL when the encoder lets it go:
    started the other way round, the PNG could take the GIL first and the encoder's few Python steps wait for it."""

    def __init__(self, picture: Callable[[], Image.Image], alongside: Callable[[], T] | None) -> None:
        self._picture, self._img, self.alongside, self.side = picture, None, alongside, None

    @property
    def img(self) -> Image.Image:
        """The whole picture, made when first needed (after the sampling: see convert.Converting)."""
        if self._img is None:
            self._img = self._picture()
        return self._img

    def __call__(self, quality: int, subsampling: int) -> bytes:
        img = self.img
        if self.alongside is None:
            return _jpeg(img, quality, subsampling)
        job, self.alongside = self.alongside, None
        self.side, data = both(job, lambda: _jpeg(img, quality, subsampling))
        return data

    def side_result(self):
        """What `alongside` returned; it runs now if no full-size encode was needed (a PNG was chosen)."""
        if self.alongside is not None:
            job, self.alongside = self.alongside, None
            self.side = job()
        return self.side


def _search_jpeg(full: _FullSize, lo: int, hi: int, subsampling: int, max_bytes: int) -> tuple[bytes, int] | None:
    """Highest quality in [lo, hi] whose JPEG fits (bisection; size grows with quality)."""
    data = full(lo, subsampling)  # the floor first: when even it is too big, skip the whole range at once
    if len(data) > max_bytes:
        return None
    best, lo = (data, lo), lo + 1
    while lo <= hi:
        q = (lo + hi) // 2
        data = full(q, subsampling)
        if len(data) <= max_bytes:
            best, lo = (data, q), q + 1
        else:
            hi = q - 1
    return best


_SAMPLE_EVERY = 16   # predict JPEG sizes from every 16th 8-px band of rows (1/16 of the pixels)
_SAMPLE_MARGIN = 0.97  # aim the prediction this far under the limit; the full encode is checked anyway


def _row_sample(rgb: np.ndarray) -> tuple[Image.Image, float] | None:
    """Every _SAMPLE_EVERY-th band of 8 rows (a JPEG block row, so blocks are coded as in the full image) and the
    factor from its JPEG size to the full image's; None when the image is too small for a useful sample."""
    h = rgb.shape[0]
    starts = np.arange(0, h - 7, 8 * _SAMPLE_EVERY)
    if starts.size < 16:
        return None
    rows = (starts[:, None] + np.arange(8)).ravel()
    return Image.fromarray(np.ascontiguousarray(rgb[rows])), h / rows.size


class _SampleSizes:
    """JPEG sizes of the row sample, each (quality, subsampling) encoded once (each costs 1/_SAMPLE_EVERY of a full
    encode)."""

    def __init__(self, sample: Image.Image) -> None:
        self.sample, self.sizes = sample, {}

    def __call__(self, quality: int, subsampling: int) -> int:
        key = (quality, subsampling)
        if key not in self.sizes:
            self.sizes[key] = len(_jpeg(self.sample, quality, subsampling))
        return self.sizes[key]


def _predict_quality(size: _SampleSizes, factor: float, lo: int, hi: int, subsampling: int,
                     max_bytes: int) -> int | None:
    """Highest quality in [lo, hi] whose predicted full size fits max_bytes * _SAMPLE_MARGIN.

    Sizes grow with quality, so any search finds the same one; this one looks down from hi in growing steps (1, 2,
    4, ...), then bisects the last gap: a photo just over the limit (q93) takes 2 sample encodes, not 7. A sample
    far over the limit at hi is tried at lo next, so a picture that fits nowhere in the range costs 2."""
    budget = max_bytes * _SAMPLE_MARGIN
    fits = lambda q: size(q, subsampling) * factor <= budget  # noqa: E731
    top, q, step = hi, hi, 1  # the answer, if any, is in [lo, top]
    while not fits(q):
        top = q - 1
        if q == lo:
            return None
        q = lo if size(hi, subsampling) * factor > 2 * budget else max(lo, q - step)
        step *= 2
    lo = q
    while lo < top:
        q = (lo + top + 1) // 2
        if fits(q):
            lo = q
        else:
            top = q - 1
    return lo


def _encode_predicted(full: _FullSize, size: _SampleSizes, factor: float, max_bytes: int) -> EncodedImage | None:
    """For an image whose q95 JPEG is predicted not to fit: a full encode at the predicted quality, then one step
    up while the prediction is within its error of the limit, or down while the full encode does not fit.
    Gives the same quality as the full search unless the prediction is off by more than ~3%.
    None: nothing predicted to fit, use the full search."""
    for lo, hi, subsampling in ((JPEG_MIN_QUALITY_444, JPEG_BEST_QUALITY - 1, 0),
                                (JPEG_MIN_QUALITY_420, JPEG_BEST_QUALITY, 2)):
        predicted = _predict_quality(size, factor, lo, hi, subsampling, max_bytes)
        if predicted is None:
            continue
        best = None
        for q in range(predicted, max(lo, predicted - 2) - 1, -1):  # at most 3 tries down
            data = full(q, subsampling)
            if len(data) <= max_bytes:
                best = (data, q)
                break
        if best is None:
            return None
        while q < hi and size(q + 1, subsampling) * factor <= max_bytes / _SAMPLE_MARGIN:
            data = full(q + 1, subsampling)  # the next step may still fit: the prediction has a margin
            if len(data) > max_bytes:
                break
            q, best = q + 1, (data, q + 1)
        return EncodedImage(best[0], "JPEG", best[1])
    return None


def encode_image(rgb: np.ndarray | Converting, max_bytes: int = MAX_IMAGE_BYTES) -> EncodedImage:
    """uint8 [H,W,3] -> the least lossy JPEG (or a smaller PNG) of at most `max_bytes` bytes."""
    return encode_image_with(rgb, None, max_bytes)[0]


def encode_image_with(rgb: np.ndarray | Converting, alongside: Callable[[], T] | None,
                      max_bytes: int = MAX_IMAGE_BYTES) -> tuple[EncodedImage, T | None]:
    """encode_image, and `alongside()` run on another core while the first full-size JPEG encode runs here (see
    _FullSize); both results. Same bytes as encode_image. `rgb` may still be Converting: the choice of format and
    quality looks at samples of rows first, so the conversion finishes meanwhile."""
    if isinstance(rgb, Converting):
        pixels = rgb.result
    else:
        rgb = _check_rgb(rgb)
        pixels = lambda: rgb  # noqa: E731
    full = _FullSize(lambda: Image.fromarray(pixels()), alongside)
    encoded = _encode(rgb, full, max_bytes)
    return encoded, full.side_result()


def _encode(rgb: np.ndarray | Converting, full: _FullSize, max_bytes: int) -> EncodedImage:
    """rgb: only its shape and samples of its rows are read here; full-size encodes go through `full`."""
    png = _png(full.img) if _likely_png(rgb) else None
    found = _row_sample(rgb)
    size = _SampleSizes(found[0]) if found is not None else None
    if png is None and size is not None and size(JPEG_BEST_QUALITY, 0) * found[1] > max_bytes:
        predicted = _encode_predicted(full, size, found[1], max_bytes)  # q95 will not fit: skip the full search
        if predicted is not None:
            return predicted
    best = full(JPEG_BEST_QUALITY, 0)  # 4:4:4
    if png is not None and len(png) <= max_bytes and len(png) < len(best):
        return EncodedImage(png, "PNG", None)
    if len(best) <= max_bytes:
        return EncodedImage(best, "JPEG", JPEG_BEST_QUALITY)
    found = _search_jpeg(full, JPEG_MIN_QUALITY_444, JPEG_BEST_QUALITY - 1, 0, max_bytes)
    if found is None:
        found = _search_jpeg(full, JPEG_MIN_QUALITY_420, JPEG_BEST_QUALITY, 2, max_bytes)
    if found is None:
        h, w, _ = rgb.shape
        raise InputError(f"image ({w}x{h}) cannot be compressed below {max_bytes} bytes",
                         hint="Use a smaller or less noisy image, or a smaller crop (lower the context setting).")
    return EncodedImage(found[0], "JPEG", found[1])


def encode_mask(mask: np.ndarray, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """bool or uint8 [H,W] -> 8-bit greyscale PNG with exactly 0 (keep) / 255 (erase). Any non-zero uint8 is erase.
    A mask of pure noise is the only kind that outgrows the budget at level 1 (4096 px: 4.1 MB); level 9 fits it."""
    arr = np.asarray(mask)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"mask: expected [H, W], got {arr.shape}")
    erase = arr if arr.dtype == bool else arr != 0
    grey = np.multiply(erase.view(np.uint8), np.uint8(255))  # one pass to a new contiguous 0/255 array
    for level in (1, 9):
        buf = io.BytesIO()
        Image.fromarray(grey).save(buf, format="PNG", compress_level=level)
        if buf.tell() <= max_bytes:
            return buf.getvalue()
    raise InputError(f"mask ({arr.shape[1]}x{arr.shape[0]}) is too detailed to fit {max_bytes:,} bytes as a PNG.",
                     hint="Use a simpler mask (fewer, larger painted areas) or a smaller crop.")


# ----------------------------------------------------------------------------------------------- decoding

def decode_image(data: bytes) -> np.ndarray:
    """JPEG/PNG/... bytes -> uint8 [H,W,3] RGB. Raises ValueError when the bytes are not a readable image."""
    return np.array(open_image(data), dtype=np.uint8)


# ----------------------------------------------------------------------------------------------- resizing

def _check_size(width: int, height: int) -> None:
    if int(width) < 1 or int(height) < 1:
        raise ValueError(f"target size must be at least 1x1, got {width}x{height}")


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 [H,W,3] -> uint8 [height,width,3] with Lanczos; the same size returns the input object unchanged."""
    _check_size(width, height)
    if rgb.shape[0] == height and rgb.shape[1] == width:
        return rgb
    img = Image.fromarray(_check_rgb(rgb))
    return np.asarray(img.resize((int(width), int(height)), Image.Resampling.LANCZOS)).copy()


def _resize_axis(mask: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    n_in = mask.shape[axis]
    j = np.arange(n_out, dtype=np.int64)
    if n_out >= n_in:  # enlarging: nearest source pixel, centre-aligned
        return np.take(mask, (2 * j + 1) * n_in // (2 * n_out), axis=axis)
    # Shrinking: target j covers source [j*n_in/n_out, (j+1)*n_in/n_out); OR every source pixel it touches,
    # one gather per position inside the footprint (a handful), instead of a slow reduceat.
    starts = j * n_in // n_out
    last = ((j + 1) * n_in + n_out - 1) // n_out - 1
    out = np.take(mask, starts, axis=axis)
    for k in range(1, int((last - starts).max()) + 1):
        out |= np.take(mask, np.minimum(starts + k, last), axis=axis)  # OR is idempotent: repeats are harmless
    return out


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """bool [H,W] -> bool [height,width]. Shrinking is max pooling over each target pixel's footprint (a 1-px stroke
    survives any downscale); enlarging is nearest neighbour (= bilinear thresholded at 0.5 for a binary mask).
    The same size returns the input object unchanged."""
    _check_size(width, height)
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask: expected [H, W], got {m.shape}")
    if m.shape == (height, width):
        return m
    m = m.astype(bool, copy=False)
    if m.shape[0] != height:
        m = _resize_axis(m, int(height), 0)
    if m.shape[1] != width:
        m = _resize_axis(m, int(width), 1)
    return np.ascontiguousarray(m)
