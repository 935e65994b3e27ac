"""Two pieces of image work at once: preparing a call is a handful of large C loops (numpy, libjpeg, zlib) that can
use a second core, as long as each releases the GIL (numpy does; Pillow does when it encodes into a real file).

A small pool of its own, not asyncio's default one: a task here never waits for another task here, so the pool
cannot deadlock however many images prepare at once.
"""
from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from PIL import Image

A = TypeVar("A")
B = TypeVar("B")

_IN_POOL = threading.local()


def _mark_pool_thread() -> None:
    _IN_POOL.active = True


_POOL = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="volc-imaging",
                           initializer=_mark_pool_thread)


def submit(job: Callable[[], A]) -> Future:
    """Start `job` on the pool (a pool thread runs it at once: the caller must not wait on it from the pool)."""
    if getattr(_IN_POOL, "active", False):
        done: Future = Future()
        done.set_result(job())
        return done
    return _POOL.submit(job)


def both(elsewhere: Callable[[], A], here: Callable[[], B]) -> tuple[A, B]:
    """Run `elsewhere` on the pool while `here` runs in this thread; both results. An error of either is raised
    only once both have ended (neither is left running on buffers the caller may then drop). Called from a pool
    thread, both run here, one after the other: a pool task waiting on the pool could deadlock it."""
    if getattr(_IN_POOL, "active", False):
        return elsewhere(), here()
    future = _POOL.submit(elsewhere)
    try:
        mine = here()
    except BaseException:
        wait([future])
        raise
    return future.result(), mine


def save_unlocked(img: Image.Image, **params) -> bytes:
    """img.save(...) into memory, with the GIL released while Pillow encodes where the OS allows it.

    Into a Python object such as BytesIO, Pillow encodes chunk by chunk through Python (holding the GIL in between,
    or throughout, depending on codec and version); to a file descriptor it writes itself, with the GIL released for
    the whole encode. An in-memory file with a descriptor (Linux memfd) gives it one: the mask, the event loop and
    other threads then run during the encode, and no chunk is copied through Python. Same bytes either way;
    elsewhere BytesIO."""
    try:
        fd = os.memfd_create("volc-encode", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # not Linux, or no memfd (old kernel, restricted container)
        buf = io.BytesIO()
        img.save(buf, **params)
        return buf.getvalue()
    with open(fd, "w+b", closefd=True) as file:
        img.save(file, **params)
        file.seek(0)
        return file.read()
