"""The eraser's MASK output: for each result, the paste-back weights it was blended with (0 outside its box).

The variants of one image are usually blended with the very same weights. They then share one plane, and the
batch is a view repeating it (stride 0 over the variants, as torch's `expand` makes): four 4096² variants hold one
64 MB plane instead of four. Like any expanded tensor it is read-only in practice (torch refuses in-place ops on
it; clone() first). Several images, or a variant blended with other weights (a watermark block of its own) or none
(it kept the original), give a plane per result, as before.
"""
from __future__ import annotations

import numpy as np

from .imaging.regions import Box


class PasteMasks:
    def __init__(self, batch: int, variants: int, height: int, width: int) -> None:
        self.shape = (batch * variants, height, width)
        self.planes: np.ndarray | None = None if batch == 1 else self._zeros()
        self.shared: np.ndarray | None = None  # one image: the plane every result so far was blended with
        self.source: np.ndarray | None = None  # ...the weights written into it, and where
        self.box: Box | None = None
        self.users: set[int] = set()

    def _zeros(self) -> np.ndarray:
        return np.zeros(self.shape, np.float32)  # pages are only made resident where written

    def adopt(self, box: Box, weights: np.ndarray) -> np.ndarray:
        """One image: write its paste-back `weights` (for `box`) into the plane its variants will share, and return
        the plane's view of them to blend with, so they are not held twice. Several images: `weights` as given."""
        if self.planes is not None:
            return weights
        self.shared = np.zeros(self.shape[1:], np.float32)
        self.shared[box.slices] = weights
        self.source, self.box = self.shared[box.slices], box
        return self.source

    def put(self, slot: int, box: Box, weights: np.ndarray) -> None:
        """Result `slot` was blended with `weights` inside `box`."""
        if self.planes is None and self.shared is None:
            self.adopt(box, weights)
            self.source = weights
        if self.planes is None and weights is self.source and box == self.box:
            self.users.add(slot)
            return
        self._unshare()
        self.planes[slot][box.slices] = weights

    def _unshare(self) -> None:
        if self.planes is not None:
            return
        self.planes = self._zeros()
        if self.shared is not None:
            for slot in self.users:
                self.planes[slot][self.box.slices] = self.shared[self.box.slices]
        self.shared = self.source = None

    def array(self) -> np.ndarray:
        """float32 [batch * variants, H, W]; results never put (kept originals, skipped) are all 0."""
        if self.shared is not None and len(self.users) == self.shape[0]:
            plane = self.shared
            return np.lib.stride_tricks.as_strided(plane, self.shape, (0, *plane.strides))
        self._unshare()
        return self.planes
