"""Returning freed memory to the OS.

glibc's malloc keeps what is freed for reuse. Once an image-sized block has been freed its mmap threshold rises (up
to 32 MiB), so later buffers of up to that size come from heaps that shrink only from the top, one set per thread:
erasing one big image would leave hundreds of MB resident until the process (ComfyUI) exits. malloc_trim gives it
back. Elsewhere (other C libraries, other systems) this does nothing.
"""
from __future__ import annotations

import ctypes
import sys


def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc; musl has none
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_memory() -> None:
    """Hand memory freed so far back to the OS, where the C library can."""
    if _TRIM is not None:
        _TRIM(0)
