"""utils/imaging/masks.py: batch/size alignment, binarisation, disk-shaped grow/erode, paste-back weights."""
from __future__ import annotations

import time

import numpy as np
import pytest

from volc_pack.utils.api.errors import InputError
from volc_pack.utils.imaging.masks import align_masks, binarize, grow, is_empty, paste_weights


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """Brute-force Euclidean distance of every pixel to the nearest set pixel (small arrays only)."""
    padded = np.pad(mask, 1)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    edge = mask & ~inner  # the nearest set pixel of any unset pixel lies on the set's edge
    yy, xx = np.mgrid[0:mask.shape[0], 0:mask.shape[1]]
    dist = np.where(mask, 0.0, np.inf)
    for y, x in np.argwhere(edge):
        np.minimum(dist, np.hypot(yy - y, xx - x), out=dist)
    return dist


def _brute_dilate(mask: np.ndarray, r: int) -> np.ndarray:
    return _distance_to(mask) <= r + 1e-9


def _brute_erode(mask: np.ndarray, r: int) -> np.ndarray:
    """Outside the image counts as set: only unset pixels inside the image erode."""
    return mask & ~(_distance_to(~mask) <= r + 1e-9)


# ----------------------------------------------------------------------------------------------- align_masks

def test_single_mask_is_broadcast_over_the_batch():
    m = np.random.default_rng(0).random((6, 8)).astype(np.float32)
    for mask in (m, m[None]):
        out = align_masks(mask, 3, 6, 8)
        assert out.shape == (3, 6, 8) and out.dtype == np.float32
        assert all(np.array_equal(out[i], m) for i in range(3))


def test_equal_batches_pair_up():
    m = np.random.default_rng(1).random((3, 6, 8))
    out = align_masks(m, 3, 6, 8)
    assert out.shape == (3, 6, 8) and out.dtype == np.float32
    assert np.array_equal(out, m.astype(np.float32))


@pytest.mark.parametrize("masks,images", [(2, 3), (3, 1), (4, 2)])
def test_other_batch_combinations_are_input_errors_naming_both_sizes(masks, images):
    with pytest.raises(InputError) as err:
        align_masks(np.zeros((masks, 6, 8), np.float32), images, 6, 8)
    assert "mask" in err.value.message and str(masks) in err.value.message and str(images) in err.value.message
    assert "one mask for all images or one" in err.value.hint


def test_load_image_placeholder_mask_is_an_empty_mask_of_the_image_size():
    # Load Image's 64x64 zero mask (image without alpha) means nothing was painted, even for another aspect ratio:
    # it becomes an empty mask of the image's size, and on_empty_mask decides what happens.
    out = align_masks(np.zeros((1, 64, 64), np.float32), 1, 480, 640)
    assert out.shape == (1, 480, 640) and not out.any()
    assert align_masks(np.zeros((64, 64), np.float32), 2, 512, 512).shape == (2, 512, 512)
    assert align_masks(np.zeros((64, 64), np.float32), 1, 64, 64).shape == (1, 64, 64)  # a real 64x64 image
    with pytest.raises(InputError, match="another aspect"):  # a painted 64x64 mask is no placeholder
        painted = np.zeros((1, 64, 64), np.float32)
        painted[0, 10, 10] = 1.0
        align_masks(painted, 1, 480, 640)


def test_same_aspect_mask_is_resized_bilinearly():
    m = np.zeros((50, 100), np.float32)
    m[:, 50:] = 1.0
    out = align_masks(m, 1, 100, 200)
    assert out.shape == (1, 100, 200)
    assert out[0, :, :95].max() == 0.0 and out[0, :, 105:].min() == 1.0
    assert 0.0 < out[0, 50, 100] < 1.0  # bilinear: a soft step, not nearest
    small = np.zeros((64, 64), np.float32)
    small[20:40, 20:40] = 1.0  # a painted 64x64 mask (not the placeholder) on a 128x128 image
    assert align_masks(small, 1, 128, 128)[0, 60, 60] == 1.0
    assert align_masks(np.ones((500, 1000)), 1, 500, 1006).shape == (1, 500, 1006)  # 0.6 % off: fine


def test_mismatched_aspect_names_both_sizes():
    with pytest.raises(InputError) as err:
        align_masks(np.ones((500, 1000), np.float32), 1, 500, 1030)
    assert "1000x500" in err.value.message and "1030x500" in err.value.message and err.value.hint


def test_align_sanitises_nan_and_range_without_touching_input():
    m = np.array([[np.nan, -1.0, 0.25, 7.0]], dtype=np.float64)
    keep = m.copy()
    out = align_masks(m, 1, 1, 4)
    assert out.dtype == np.float32 and out.tolist() == [[[0.0, 0.0, 0.25, 1.0]]]
    assert np.array_equal(m, keep, equal_nan=True)
    wide = np.zeros((2, 12), np.float32)
    wide[:, ::3] = 1.0
    assert np.array_equal(align_masks(wide[:, ::3], 1, 2, 4)[0], np.ones((2, 4)))  # strided input


def test_align_rejects_non_mask_shapes():
    with pytest.raises(InputError) as err:
        align_masks(np.zeros((1, 2, 3, 4), np.float32), 1, 3, 4)
    assert "mask" in err.value.message and err.value.hint


# ----------------------------------------------------------------------------------------------- binarize / is_empty

def test_binarize_threshold_nan_and_overrange():
    m = np.array([np.nan, 0.49, 0.5, 1.0, 1.5, -2.0], dtype=np.float32)
    assert binarize(m).tolist() == [False, False, True, True, True, False]
    assert binarize(m, 0.2).tolist() == [False, True, True, True, True, False]


def test_is_empty():
    assert is_empty(np.zeros((4, 4), bool)) and is_empty(np.full((4, 4), np.nan))
    assert not is_empty(np.eye(4, dtype=bool)) and not is_empty(np.eye(4) * 0.1)


# ----------------------------------------------------------------------------------------------- grow

@pytest.mark.parametrize("r", [1, 2, 3, 7, 12])
def test_single_pixel_grows_into_a_disk_not_a_square(r):
    m = np.zeros((41, 41), bool)
    m[20, 20] = True
    out = grow(m, r)
    yy, xx = np.mgrid[-20:21, -20:21]
    assert np.array_equal(out, yy ** 2 + xx ** 2 <= r * r)
    if r > 1:
        assert not out[20 + r, 20 + r]  # the square's corner is not reached


def test_grow_and_erode_match_brute_force_on_random_masks():
    rng = np.random.default_rng(5)
    for trial in range(12):
        h, w = int(rng.integers(5, 40)), int(rng.integers(5, 40))
        sparse = rng.random((h, w)) < 0.02
        dense = rng.random((h, w)) < 0.7
        r = int(rng.integers(1, 9))
        assert np.array_equal(grow(sparse, r), _brute_dilate(sparse, r)), (trial, r)
        assert np.array_equal(grow(dense, -r), _brute_erode(dense, r)), (trial, r)


def test_tall_regions_match_brute_force_and_their_transposed_twins():
    rng = np.random.default_rng(6)
    m = rng.random((120, 9)) < 0.03  # tall and narrow: computed transposed
    assert np.array_equal(grow(m, 4), _brute_dilate(m, 4))
    assert np.array_equal(grow(~m, -3), _brute_erode(~m, 3))
    assert np.array_equal(paste_weights(m, 2, 9), paste_weights(np.ascontiguousarray(m.T), 2, 9).T)


def test_erosion_keeps_masks_on_the_border():
    m = np.zeros((40, 60), bool)
    m[:, :20] = True  # touches top, bottom and left borders
    out = grow(m, -5)
    assert out[:, :15].all() and not out[:, 15:].any()  # shrinks only away from its inner edge
    sq = np.zeros((40, 40), bool)
    sq[10:30, 10:30] = True
    assert np.array_equal(grow(sq, -4), np.pad(np.ones((12, 12), bool), 14))


def test_grow_zero_is_a_copy_and_extremes():
    m = np.zeros((30, 30), bool)
    m[10:20, 12:15] = True
    same = grow(m, 0)
    assert same is not m and np.array_equal(same, m)
    assert grow(m, 100).all() and not grow(m, -100).any()
    assert not grow(np.zeros((9, 9), bool), 5).any()
    assert np.array_equal(grow(m.astype(np.float32), 2), grow(m, 2))  # float masks are binarised


def test_grow_8k_by_50_px_is_exact_on_a_rectangle():
    m = np.zeros((4320, 7680), bool)
    m[1000:3000, 2000:5000] = True
    m[4319, 0] = True  # far-away speck: the working region is the whole frame
    started = time.perf_counter()
    out = grow(m, 50)
    elapsed = time.perf_counter() - started  # reported by -s runs, never asserted (no timing asserts)
    print(f"grow 7680x4320 by 50 px: {elapsed:.3f} s")
    assert out[950:3050, 2000:5000].all() and out[1000:3000, 1950:5050].all()
    assert not out[949, 2500] and not out[2000, 5050]
    assert out[1000 - 35, 2000 - 35] and not out[1000 - 36, 2000 - 36]  # rounded corner: 35*sqrt(2) < 50 < 36*sqrt(2)
    assert out[4319 - 50, 0] and not out[4319 - 51, 0]


# ----------------------------------------------------------------------------------------------- paste_weights

@pytest.mark.parametrize("dilate,feather", [(0, 1), (3, 2), (5, 8), (15, 32), (2, 50)])
def test_paste_weights_are_one_on_the_dilated_mask_and_zero_beyond_feather(dilate, feather):
    rng = np.random.default_rng(dilate * 100 + feather)
    m = np.zeros((140, 150), bool)
    m[60:75, 40:90] = True
    m |= rng.random(m.shape) < 0.0008
    w = paste_weights(m, dilate, feather)
    assert w.dtype == np.float32 and w.shape == m.shape
    core = grow(m, dilate)
    assert (w[core] == 1.0).all()
    dist = _distance_to(core)
    assert (w[dist > feather] == 0.0).all()
    assert ((w >= 0) & (w <= 1)).all()
    assert (w[(dist > 0) & (dist < feather * 0.5)] > 0).all()  # a real ramp, not a hard edge


def test_paste_weights_fall_smoothly_and_monotonically_from_a_straight_edge():
    m = np.zeros((100, 200), bool)
    m[:, :60] = True
    w = paste_weights(m, 10, 40)
    profile = w[50, 60:130]
    assert (profile[:10] == 1.0).all() and profile[-1] == 0.0
    assert (np.diff(profile) <= 1e-6).all()  # never rises going outward
    assert np.abs(np.diff(profile)).max() <= 3.0 / 40  # no jumps: roughly 1/feather per pixel
    assert (profile > 0).sum() >= 10 + 30  # the fall uses most of the feather width


def test_paste_weights_feather_zero_is_hard():
    m = np.zeros((30, 30), bool)
    m[10, 10] = True
    w = paste_weights(m, 4, 0)
    assert set(np.unique(w).tolist()) == {0.0, 1.0}
    assert np.array_equal(w == 1.0, grow(m, 4))
    assert not paste_weights(np.zeros((8, 8), bool), 3, 5).any()
