"""The MASK output (paste_masks.py): one image's variants share one plane when they used the same weights, and the
values are those of a plane per result in every case."""
from __future__ import annotations

import numpy as np
import torch

from volc_pack.utils.imaging.regions import Box
from volc_pack.utils.paste_masks import PasteMasks

BOX = Box(10, 5, 40, 25)


def weights(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (BOX.height, BOX.width)).astype(np.float32)


def dense(count: int, entries: dict[int, np.ndarray]) -> np.ndarray:
    out = np.zeros((count, 30, 50), np.float32)
    for slot, w in entries.items():
        out[slot][BOX.slices] = w
    return out


def test_variants_with_the_same_weights_share_one_plane():
    masks = PasteMasks(1, 4, 30, 50)
    used = masks.adopt(BOX, weights(1))
    assert np.array_equal(used, weights(1))
    for slot in (2, 0, 3, 1):
        masks.put(slot, BOX, used)
    out = masks.array()
    assert out.shape == (4, 30, 50) and out.strides[0] == 0
    assert np.array_equal(out, dense(4, dict.fromkeys(range(4), weights(1))))
    tensor = torch.from_numpy(out)  # what the node returns: an expanded tensor, readable like any other
    assert torch.equal(tensor[3], torch.from_numpy(dense(1, {0: weights(1)})[0]))


def test_a_variant_with_weights_of_its_own_unshares_the_plane():
    masks = PasteMasks(1, 3, 30, 50)
    used = masks.adopt(BOX, weights(1))
    masks.put(0, BOX, used)
    masks.put(1, BOX, weights(2))  # a watermark block of its own
    masks.put(2, BOX, used)
    out = masks.array()
    assert out.strides[0] != 0
    assert np.array_equal(out, dense(3, {0: weights(1), 1: weights(2), 2: weights(1)}))


def test_a_variant_that_kept_the_original_has_an_empty_mask():
    masks = PasteMasks(1, 3, 30, 50)
    used = masks.adopt(BOX, weights(1))
    masks.put(0, BOX, used)
    masks.put(2, BOX, used)
    out = masks.array()
    assert np.array_equal(out, dense(3, {0: weights(1), 2: weights(1)})) and out.flags.writeable


def test_without_adopt_the_first_weights_put_are_shared_too():
    masks = PasteMasks(1, 2, 30, 50)
    w = weights(3)
    masks.put(1, BOX, w)
    masks.put(0, BOX, w)
    assert masks.array().strides[0] == 0 and np.array_equal(masks.array(), dense(2, {0: w, 1: w}))


def test_several_images_get_a_plane_per_result_and_nothing_put_is_zero():
    masks = PasteMasks(2, 2, 30, 50)
    assert masks.adopt(BOX, weights(1)) is not None
    masks.put(0, BOX, weights(1))
    masks.put(3, BOX, weights(4))
    assert np.array_equal(masks.array(), dense(4, {0: weights(1), 3: weights(4)}))
    assert not PasteMasks(1, 2, 30, 50).array().any()
