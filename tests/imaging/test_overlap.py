"""Preparing on two cores (overlap.py, codec.encode_image_with, the split to_uint8) gives the same bytes as one core,
and errors on either side still surface."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from volc_pack.utils.imaging import convert, overlap
from volc_pack.utils.imaging.codec import encode_image, encode_image_with, encode_mask
from volc_pack.utils.imaging.convert import to_uint8
from volc_pack.utils.imaging.convert import Converting


def photo(height: int, width: int, noise: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / width, yy / height, 0.5 + 0.3 * np.sin(xx / 9.0)], -1) * 255
    return np.clip(base + rng.normal(0, noise, base.shape) + 0.5, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("params", [dict(format="JPEG", quality=95, subsampling=0),
                                    dict(format="JPEG", quality=40, subsampling=2), dict(format="PNG")])
def test_save_unlocked_writes_the_bytes_a_bytesio_gets(params):
    img = Image.fromarray(photo(300, 500, 6.0))
    buf = io.BytesIO()
    img.save(buf, **params)
    assert overlap.save_unlocked(img, **params) == buf.getvalue()


def test_save_unlocked_without_memfd_falls_back_to_bytesio(monkeypatch):
    img = Image.fromarray(photo(64, 64, 3.0))
    expected = overlap.save_unlocked(img, format="JPEG", quality=90)
    monkeypatch.delattr(overlap.os, "memfd_create", raising=False)
    assert overlap.save_unlocked(img, format="JPEG", quality=90) == expected


def test_both_returns_both_results_and_raises_either_error_after_both_ended():
    assert overlap.both(lambda: 1, lambda: 2) == (1, 2)
    ended = threading.Event()

    def slow_then_done():
        ended.wait(5)
        return "late"

    def fails_here():
        ended.set()
        raise ValueError("here")

    with pytest.raises(ValueError, match="here"):
        overlap.both(slow_then_done, fails_here)
    with pytest.raises(KeyError):
        overlap.both(lambda: {}["missing"], lambda: 3)


def test_both_called_on_the_pool_runs_inline_instead_of_waiting_on_the_pool():
    def nested():
        return overlap.both(lambda: threading.current_thread().name, lambda: threading.current_thread().name)

    outer = [overlap._POOL.submit(nested) for _ in range(8)]  # more than the pool's threads
    for future in outer:
        first, second = future.result(timeout=30)
        assert first == second  # both ran on the same pool thread


@pytest.mark.parametrize("height, width, noise", [(700, 900, 2.5), (1200, 1100, 14.0), (60, 70, 2.0), (400, 600, None)])
def test_encode_image_with_gives_encode_images_bytes_and_the_other_jobs_result(height, width, noise):
    """q95 fits, a predicted quality, a small picture, a flat one that goes as PNG (no full-size JPEG to overlap)."""
    rgb = photo(height, width, noise) if noise is not None else np.zeros((height, width, 3), np.uint8)
    mask = np.zeros((height, width), bool)
    mask[height // 3: height // 2, width // 4: width // 2] = True
    alone = encode_image(rgb, max_bytes=400_000)
    together, mask_png = encode_image_with(rgb, lambda: encode_mask(mask), max_bytes=400_000)
    assert (together.data, together.format, together.quality) == (alone.data, alone.format, alone.quality)
    assert (alone.format == "PNG") == (noise is None) and (alone.quality == 95) == (noise in (2.5, 2.0))
    assert mask_png == encode_mask(mask)


def test_encode_image_with_raises_the_other_jobs_error_and_the_encoders():
    rgb = photo(300, 300, 3.0)
    with pytest.raises(RuntimeError, match="mask side"):
        encode_image_with(rgb, lambda: (_ for _ in ()).throw(RuntimeError("mask side")))
    with pytest.raises(Exception, match="cannot be compressed"):
        encode_image_with(photo(300, 300, 60.0), lambda: None, max_bytes=2_000)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_to_uint8_on_two_threads_equals_one_thread_bit_for_bit(channels, monkeypatch):
    rng = np.random.default_rng(channels)
    image = rng.uniform(-0.2, 1.2, (1031, 1100, channels)).astype(np.float32)
    image[5, 7] = np.nan
    image[900, 3] = np.inf
    split = to_uint8(image)
    monkeypatch.setattr(convert, "_SPLIT_PIXELS", image.shape[0] * image.shape[1] + 1)
    assert np.array_equal(split, to_uint8(image))
    assert np.array_equal(to_uint8(image[::2, 1::3]), to_uint8(np.ascontiguousarray(image[::2, 1::3])))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_converting_in_the_background_gives_to_uint8s_values_rows_and_whole(channels, monkeypatch):
    monkeypatch.setattr(convert, "_CHUNK_FLOATS", 1100 * 3 * 37)  # many chunks, taken by both threads
    rng = np.random.default_rng(channels)
    image = rng.uniform(-0.2, 1.2, (1031, 1100, channels)).astype(np.float32)
    image[5, 7] = np.nan
    expected = to_uint8(image)
    conv = Converting(image)
    assert conv.shape == (1031, 1100, 3)
    assert np.array_equal(conv[::97], expected[::97]) and np.array_equal(conv[[3, 500, 1030]], expected[[3, 500, 1030]])
    assert np.array_equal(conv.result(), expected) and conv.result() is conv.result()


def test_encode_image_with_a_picture_still_converting_gives_the_same_bytes():
    rgb = photo(1300, 1200, 9.0)
    floats = rgb.astype(np.float32) / np.float32(255)
    mask = np.zeros((1300, 1200), bool)
    mask[100:300, 200:700] = True
    alone = encode_image(rgb, max_bytes=500_000)
    together, mask_png = encode_image_with(Converting(floats), lambda: encode_mask(mask), max_bytes=500_000)
    assert (together.data, together.quality) == (alone.data, alone.quality) and alone.quality < 95
    assert mask_png == encode_mask(mask)
