"""utils/heap.py: freed memory goes back to the OS where the C library allows it, and nowhere else does it fail."""
from __future__ import annotations

import platform
import sys

import pytest

from volc_pack.utils import heap


def test_release_memory_can_always_be_called():
    assert heap.release_memory() is None


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_malloc_trim_is_found():
    assert heap._TRIM is not None


def test_elsewhere_it_is_a_no_op(monkeypatch):
    monkeypatch.setattr(heap.sys, "platform", "darwin")
    assert heap._malloc_trim() is None
