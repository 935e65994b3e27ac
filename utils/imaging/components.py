"""Connected regions of a label image: 4-connected pixels of equal value become one numbered component.

numpy only, vectorised over row runs instead of pixels: each row is cut into runs of equal value, runs that touch a
run of the same value in the next row are joined (min-label propagation with pointer jumping), and the components are
numbered 1..n by size, largest first. Used by the entity-mask selection (the separate strokes of a scribble) and by the
stand-in's entity segmentation.
"""
from __future__ import annotations

import numpy as np


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run id per pixel (a run = equal values side by side in one row) and the value of each run."""
    h, w = values.shape
    starts = np.ones((h, w), bool)
    starts[:, 1:] = values[:, 1:] != values[:, :-1]
    run_id = np.cumsum(starts.ravel(), dtype=np.int64).reshape(h, w) - 1
    return run_id, values.ravel()[starts.ravel()]


def _join(count: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root (smallest member) of each run's connected group, given edges a[i] -- b[i] between runs.

    Shiloach-Vishkin style: hook the larger root of every edge onto the smaller one, then shortcut every chain to its
    root; each round at least halves the number of groups that still have an edge between them."""
    edges = np.unique(np.minimum(a, b) * count + np.maximum(a, b))  # one edge per pair of runs, not per pixel
    a, b = edges // count, edges % count
    parent = np.arange(count, dtype=np.int64)
    while True:
        ra, rb = parent[a], parent[b]
        apart = ra != rb
        if not apart.any():
            return parent
        a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]  # joined edges never matter again
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:  # shortcut: every run points straight at its root again
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt


def label_components(values: np.ndarray, background: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """values int/bool [H,W] -> (labels int32 [H,W], sizes int64 [n+1]).

    Components are numbered 1..n, largest first (ties: first in raster order); pixels equal to `background` get 0 and
    belong to no component. sizes[k] is the pixel count of component k (sizes[0]: the background pixels)."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"label_components takes a 2-D array, got shape {values.shape}")
    if values.dtype == bool:
        values = values.view(np.uint8)
    if values.size == 0:
        return np.zeros(values.shape, np.int32), np.zeros(1, np.int64)
    run_id, run_value = _runs(values)
    same = values[1:] == values[:-1]
    root = _join(len(run_value), run_id[1:][same], run_id[:-1][same])
    keep = np.ones(len(run_value), bool) if background is None else run_value != background
    groups, group_of_run = np.unique(root, return_inverse=True)
    size = np.bincount(group_of_run[run_id.ravel()], minlength=len(groups))
    group_kept = np.zeros(len(groups), bool)
    group_kept[group_of_run[keep]] = True
    order = np.argsort(-np.where(group_kept, size, -1), kind="stable")  # largest first; background groups last
    number = np.zeros(len(groups), np.int32)
    n = int(group_kept.sum())
    number[order[:n]] = np.arange(1, n + 1, dtype=np.int32)
    labels = number[group_of_run][run_id]
    sizes = np.bincount(labels.ravel(), minlength=n + 1).astype(np.int64)
    return labels, sizes
