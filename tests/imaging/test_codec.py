"""utils/imaging/codec.py: float -> uint8, JPEG/PNG encoding under a byte limit, mask PNGs, decoding, resizing."""
from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from volc_pack.utils.imaging import codec
from volc_pack.utils.imaging.codec import (MAX_IMAGE_BYTES, SEGMENT_MAX_BYTES, EncodedImage, base64_budget,
                                           decode_image, encode_image, encode_mask, resize_mask, resize_rgb)
from volc_pack.utils.imaging.convert import to_uint8
from volc_pack.utils.api.errors import InputError


def _reference_uint8(x: np.ndarray) -> np.ndarray:
    """Independent spelling of the rule: NaN -> 0, clip, *255, round half-up (in float32 like the module)."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    x = np.clip(x, 0, 1).astype(np.float32)
    return np.floor(x * np.float32(255) + np.float32(0.5)).astype(np.uint8)


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# ----------------------------------------------------------------------------------------------- to_uint8

def test_to_uint8_exact_levels_and_half_up_rounding():
    levels = np.arange(256, dtype=np.float32) / np.float32(255)
    img = np.repeat(levels[None, :, None], 3, axis=2)
    assert np.array_equal(to_uint8(img)[0, :, 0], np.arange(256))
    # 0.5 * 255 = 127.5 exactly: half-up gives 128; 0.7/255 rounds up to 1 (truncation would give 0)
    odd = np.array([[[0.5, 0.7 / 255, 0.3 / 255]]], dtype=np.float32)
    assert to_uint8(odd).tolist() == [[[128, 1, 0]]]


def test_to_uint8_matches_reference_on_random_values_across_chunks():
    rng = np.random.default_rng(1)
    img = rng.uniform(-0.2, 1.2, (700, 1600, 3)).astype(np.float32)  # several row chunks
    out = to_uint8(img)
    assert out.dtype == np.uint8 and out.flags.c_contiguous and out.shape == (700, 1600, 3)
    assert np.array_equal(out, _reference_uint8(img))


def test_to_uint8_nan_inf_out_of_range():
    img = np.array([[[np.nan, np.inf, -np.inf], [-3.0, 7.0, 1.0]]], dtype=np.float32)
    assert to_uint8(img).tolist() == [[[0, 255, 0], [0, 255, 255]]]


def test_to_uint8_float64_and_non_contiguous_inputs_do_not_change_results_or_inputs():
    rng = np.random.default_rng(2)
    base = rng.random((40, 60, 3))
    expected = _reference_uint8(base.astype(np.float32))
    keep = base.copy()
    assert np.array_equal(to_uint8(base), expected)  # float64
    assert np.array_equal(base, keep)
    flipped = base.astype(np.float32)[:, ::-1]  # negative strides
    assert np.array_equal(to_uint8(flipped), expected[:, ::-1])
    wide = np.zeros((40, 120, 3), np.float32)
    wide[:, ::2] = base
    out = to_uint8(wide[:, ::2])  # strided view
    assert out.flags.c_contiguous and np.array_equal(out, expected)


def test_to_uint8_greyscale_and_alpha():
    grey = np.array([[[0.0], [0.5], [1.0]]], dtype=np.float32)
    assert to_uint8(grey).tolist() == [[[0, 0, 0], [128, 128, 128], [255, 255, 255]]]
    rgba = np.array([[[1.0, 0.0, 0.5, 0.25]]], dtype=np.float32)
    assert to_uint8(rgba).tolist() == [[[255, 0, 128]]]


def test_to_uint8_rejects_bad_shape_naming_image():
    with pytest.raises(InputError) as err:
        to_uint8(np.zeros((4, 4, 2), np.float32))
    assert "image" in err.value.message and err.value.hint


# ----------------------------------------------------------------------------------------------- encode_image

def _noise(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _photo_like(height: int, width: int, sigma: float, seed: int = 0) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    base = (np.sin(xx / 37.0) + np.cos(yy / 23.0)) * 60 + 128
    noise = np.random.default_rng(seed).normal(0, sigma, (height, width, 3))
    return np.clip(base[..., None] + noise, 0, 255).astype(np.uint8)


def test_noisy_4096_square_fits_the_real_5_mb_limit():
    enc = encode_image(_noise(4096))
    assert isinstance(enc, EncodedImage) and enc.format == "JPEG"
    assert len(enc.data) <= MAX_IMAGE_BYTES
    assert _open(enc.data).size == (4096, 4096)


def test_small_photo_is_jpeg_95_444_without_icc_or_exif():
    enc = encode_image(_photo_like(300, 400, 3.0))
    assert (enc.format, enc.quality) == ("JPEG", 95)
    img = _open(enc.data)
    assert img.format == "JPEG" and img.size == (400, 300)
    assert JpegImagePlugin.get_sampling(img) == 0  # 4:4:4
    assert "icc_profile" not in img.info and "exif" not in img.info


def test_jpeg_search_finds_the_highest_quality_that_fits():
    rgb = _photo_like(512, 512, 12.0)
    limit = len(encode_image(rgb, max_bytes=10**9).data) // 2  # q95 does not fit
    enc = encode_image(rgb, max_bytes=limit)
    assert enc.format == "JPEG" and len(enc.data) <= limit
    assert 50 <= enc.quality < 95
    img = Image.fromarray(rgb)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=enc.quality + 1, subsampling=0)
    assert len(buf.getvalue()) > limit  # one step better would not fit


@pytest.mark.parametrize("seed,noise", [(1, 6.0), (2, 12.0), (3, 24.0)])
def test_predicted_quality_on_tall_images_is_still_the_highest_that_fits(seed, noise):
    """Images tall enough for the sampled size prediction must land on the same answer as a full search."""
    rgb = _photo_like(2048, 384, noise, seed)
    limit = len(encode_image(rgb, max_bytes=10**9).data) * 2 // 3
    enc = encode_image(rgb, max_bytes=limit)
    assert enc.format == "JPEG" and len(enc.data) <= limit and enc.quality < 95
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=enc.quality + 1,
                              subsampling=JpegImagePlugin.get_sampling(Image.open(io.BytesIO(enc.data))))
    assert len(buf.getvalue()) > limit  # one step better would not fit


def test_chroma_subsampling_is_the_next_fallback():
    rgb = _noise(512, seed=3)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=50, subsampling=0)
    limit = len(buf.getvalue()) - 1  # even q50 4:4:4 is too big
    enc = encode_image(rgb, max_bytes=limit)
    assert enc.format == "JPEG" and len(enc.data) <= limit
    assert JpegImagePlugin.get_sampling(_open(enc.data)) == 2  # 4:2:0


def test_nothing_fits_raises_input_error_naming_image():
    with pytest.raises(InputError) as err:
        encode_image(_noise(256), max_bytes=500)
    assert "image" in err.value.message and err.value.hint


def test_flat_image_becomes_lossless_png_without_icc():
    rgb = np.zeros((1024, 1536, 3), np.uint8)
    rgb[100:600, 200:900] = (200, 30, 40)
    rgb[700:, :] = (10, 250, 10)
    enc = encode_image(rgb)
    assert (enc.format, enc.quality) == ("PNG", None)
    img = _open(enc.data)
    assert img.format == "PNG" and img.mode == "RGB" and "icc_profile" not in img.info
    assert np.array_equal(np.asarray(img), rgb)


def test_few_colour_image_without_flat_runs_becomes_png():
    rng = np.random.default_rng(8)
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    rgb = palette[rng.integers(0, 16, (1024, 1024))]  # synthetic: no runs, but only 16 colours
    enc = encode_image(rgb)
    assert enc.format == "PNG" and np.array_equal(np.asarray(_open(enc.data)), rgb)


def test_small_image_tries_png_but_keeps_jpeg_when_smaller():
    enc = encode_image(_photo_like(200, 200, 20.0))  # small: PNG is tried, noisy: JPEG wins
    assert enc.format == "JPEG"


# ----------------------------------------------------------------------------------------------- encode_mask

@pytest.mark.parametrize("dtype", [bool, np.uint8])
def test_mask_png_is_8bit_grey_with_only_0_and_255(dtype):
    rng = np.random.default_rng(4)
    mask = rng.random((97, 131)) < 0.3
    data = encode_mask(mask.astype(dtype))
    img = _open(data)
    assert img.format == "PNG" and img.mode == "L" and img.size == (131, 97)
    assert "icc_profile" not in img.info
    arr = np.asarray(img)
    assert set(np.unique(arr).tolist()) == {0, 255}
    assert np.array_equal(arr == 255, mask)


def test_mask_png_treats_any_nonzero_uint8_as_erase_and_keeps_input():
    mask = np.array([[0, 1, 128, 255]], np.uint8)
    keep = mask.copy()
    assert np.asarray(_open(encode_mask(mask))).tolist() == [[0, 255, 255, 255]]
    assert np.array_equal(mask, keep)


def test_mask_png_too_large_at_level_1_is_recompressed_then_refused():
    noise = np.random.default_rng(3).random((512, 512)) > 0.5
    fast = encode_mask(noise)
    smaller = encode_mask(noise, max_bytes=len(fast) - 1)
    assert len(smaller) < len(fast) and np.array_equal(np.asarray(_open(smaller)) == 255, noise)
    with pytest.raises(InputError, match="mask .*too detailed"):
        encode_mask(noise, max_bytes=1000)


@pytest.mark.parametrize("chars", [4, 5, 6, 7, 8, 4_700_000, 5_000_000, 5_000_001])
def test_byte_budgets_keep_the_base64_text_within_the_character_limits(chars):
    budget = base64_budget(chars)
    assert len(base64.b64encode(b"x" * budget)) <= chars < len(base64.b64encode(b"x" * (budget + 1)))
    assert (MAX_IMAGE_BYTES, SEGMENT_MAX_BYTES) == (base64_budget(5_000_000), base64_budget(4_700_000))
    assert len(base64.b64encode(b"x" * MAX_IMAGE_BYTES)) == 5_000_000


# ----------------------------------------------------------------------------------------------- decode

def test_decode_converts_any_mode_to_rgb():
    rgba = np.zeros((5, 7, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 100
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, "PNG")
    out = decode_image(buf.getvalue())
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8 and out[0, 0].tolist() == [200, 0, 0]
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 8), 77, np.uint8)).save(buf, "JPEG")
    grey = decode_image(buf.getvalue())
    assert grey.shape == (6, 8, 3) and abs(int(grey[3, 3, 1]) - 77) <= 1


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 40])
def test_decode_garbage_raises_value_error(data):
    with pytest.raises(ValueError, match="decode"):
        decode_image(data)


def test_encode_decode_round_trip_jpeg():
    rgb = _photo_like(120, 160, 2.0)
    out = decode_image(encode_image(rgb).data)
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 3


# ----------------------------------------------------------------------------------------------- resize

def test_resize_rgb_identity_and_size():
    rgb = _photo_like(50, 80, 1.0)
    assert resize_rgb(rgb, 80, 50) is rgb
    out = resize_rgb(rgb, 40, 25)
    assert out.shape == (25, 40, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("size", [(400, 400, 100, 100), (401, 399, 97, 61), (4000, 300, 1000, 75)])
def test_resize_mask_keeps_one_pixel_strokes_when_shrinking(size):
    h, w, th, tw = size
    mask = np.zeros((h, w), bool)
    mask[h // 3, :] = True  # horizontal 1-px line
    mask[:, w // 2 + 1] = True  # vertical
    idx = np.arange(min(h, w))
    mask[idx, idx] = True  # diagonal
    out = resize_mask(mask, tw, th)
    assert out.shape == (th, tw) and out.dtype == bool
    assert out.any(axis=1).all() and out.any(axis=0).all()  # every row and column still hit
    assert out[h // 3 * th // h].all()  # the horizontal line is unbroken
    assert out[:, (w // 2 + 1) * tw // w].all()
    assert out.mean() < 0.2  # no blow-up: only the footprints the strokes touch


def test_resize_mask_single_pixel_lands_in_its_footprint():
    mask = np.zeros((100, 100), bool)
    mask[10, 13] = True
    out = resize_mask(mask, 25, 25)
    assert np.argwhere(out).tolist() == [[2, 3]]
    assert not resize_mask(np.zeros((100, 100), bool), 7, 9).any()


def test_resize_mask_enlarging_is_nearest_and_identity_is_unchanged():
    mask = np.array([[True, False], [False, True]])
    assert np.array_equal(resize_mask(mask, 4, 4), np.kron(mask, np.ones((2, 2), bool)))
    assert resize_mask(mask, 2, 2) is mask


def _bisected_quality(size, factor: float, lo: int, hi: int, subsampling: int, max_bytes: int) -> int | None:
    """The plain bisection the predicted quality must agree with: lo first, then halving [lo, hi]."""
    fits = lambda q: size(q, subsampling) * factor <= max_bytes * codec._SAMPLE_MARGIN  # noqa: E731
    if not fits(lo):
        return None
    while lo < hi:
        q = (lo + hi + 1) // 2
        lo, hi = (q, hi) if fits(q) else (lo, q - 1)
    return lo


@pytest.mark.parametrize("noise", [3.0, 9.0, 30.0])
def test_predicted_quality_is_the_bisections_answer_in_fewer_sample_encodes(noise):
    rgb = _photo_like(2048, 256, noise, 5)
    sample, factor = codec._row_sample(rgb)
    size = codec._SampleSizes(sample)
    near_top = 0
    for subsampling, lo, hi in ((0, codec.JPEG_MIN_QUALITY_444, 94), (2, codec.JPEG_MIN_QUALITY_420, 95)):
        sizes = [size(q, subsampling) for q in range(lo, hi + 1)]
        assert sizes == sorted(sizes)  # what both searches rely on
        for limit in range(int(sizes[0] * factor * 0.8), int(sizes[-1] * factor * 1.1), 997):
            counted = codec._SampleSizes(sample)
            got = codec._predict_quality(counted, factor, lo, hi, subsampling, limit)
            assert got == _bisected_quality(size, factor, lo, hi, subsampling, limit), (subsampling, limit)
            if got is not None and got >= hi - 1:
                near_top += 1
                assert len(counted.sizes) <= 2  # just over the limit at the top: two sample encodes
            assert len(counted.sizes) <= 2 * math.ceil(math.log2(hi - lo + 1)) + 1
    assert near_top
