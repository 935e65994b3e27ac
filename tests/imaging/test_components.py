"""Connected components: the same partition as a plain flood fill, numbered largest first."""
from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from volc_pack.utils.imaging.components import label_components


def flood_fill(values: np.ndarray, background: int | None) -> np.ndarray:
    """The obvious breadth-first 4-connected labelling, as the reference."""
    h, w = values.shape
    labels = np.zeros((h, w), int)
    n = 0
    for y in range(h):
        for x in range(w):
            if labels[y, x] or (background is not None and values[y, x] == background):
                continue
            n += 1
            labels[y, x] = n
            queue = deque([(y, x)])
            while queue:
                a, b = queue.popleft()
                for yy, xx in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
                    if 0 <= yy < h and 0 <= xx < w and not labels[yy, xx] and values[yy, xx] == values[a, b]:
                        labels[yy, xx] = n
                        queue.append((yy, xx))
    return labels


@pytest.mark.parametrize("seed", range(40))
def test_same_partition_as_a_flood_fill(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 3, (rng.integers(1, 24), rng.integers(1, 24)))
    background = 0 if seed % 2 else None
    labels, sizes = label_components(values, background)
    reference = flood_fill(values, background)
    assert np.array_equal(labels == 0, reference == 0)
    pairs = set(zip(labels[labels > 0].tolist(), reference[reference > 0].tolist(), strict=True))
    assert len(pairs) == len({b for _, b in pairs}) == len({a for a, _ in pairs}) == len(sizes) - 1  # a bijection
    assert sizes.tolist() == np.bincount(labels.ravel(), minlength=len(sizes)).tolist()
    assert sizes[1:].tolist() == sorted(sizes[1:].tolist(), reverse=True)


def test_background_is_zero_and_diagonal_pixels_are_apart():
    mask = np.array([[1, 0, 0],
                     [0, 1, 1],
                     [0, 1, 0]], bool)
    labels, sizes = label_components(mask, background=0)
    assert labels.tolist() == [[2, 0, 0], [0, 1, 1], [0, 1, 0]] and sizes.tolist() == [5, 3, 1]


def test_a_long_snake_is_one_component():
    """A snake winding through the whole picture: propagation must not need one round per turn."""
    size = 301
    grid = np.zeros((size, size), bool)
    grid[::2] = True
    grid[1::4, -1] = True  # turns at the right end ...
    grid[3::4, 0] = True   # ... and at the left end
    labels, sizes = label_components(grid, background=0)
    assert len(sizes) == 2 and sizes[1] == grid.sum() and labels[-1, 0] == labels[0, 0] == 1


def test_empty_and_uniform_inputs():
    labels, sizes = label_components(np.zeros((0, 5), int))
    assert labels.shape == (0, 5) and sizes.tolist() == [0]
    labels, sizes = label_components(np.zeros((4, 5), bool), background=0)
    assert not labels.any() and sizes.tolist() == [20]
    labels, sizes = label_components(np.full((4, 5), 7))
    assert (labels == 1).all() and sizes.tolist() == [0, 20]
