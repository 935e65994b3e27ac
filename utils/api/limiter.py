"""A concurrency bound shared by every call of the process, whichever event loop or thread it runs on.

asyncio.Semaphore belongs to one loop; ComfyUI runs nodes on its worker loop while the CLI and tests create
their own, and the account's concurrency quota is per process (in fact per key), so the bound must be too.
"""
from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

ENV_MAX_CONCURRENCY = "VOLC_MAX_CONCURRENCY"
DEFAULT_MAX_CONCURRENCY = 4


class ProcessLimiter:
    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._limit = max(1, int(limit))
        self._active = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def active(self) -> int:
        return self._active

    def set_limit(self, limit: int) -> None:
        """The batch CLI's --concurrency and its rate-limit backoff (AIMD) move the bound while calls run."""
        with self._lock:
            self._limit = max(1, int(limit))
        self._wake()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._active < self._limit and not self._waiters:
                self._active += 1
                return
            fut = loop.create_future()
            self._waiters.append((loop, fut))
        try:
            await fut
        except BaseException:
            with self._lock:
                still_waiting = (loop, fut) in self._waiters
                if still_waiting:
                    self._waiters.remove((loop, fut))
            if not still_waiting and fut.done() and not fut.cancelled():
                self.release()  # the slot was granted just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        with self._lock:
            self._active -= 1
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            while self._waiters and self._active < self._limit:
                loop, fut = self._waiters.popleft()
                self._active += 1
                try:
                    loop.call_soon_threadsafe(self._grant, fut)
                except RuntimeError:  # that loop is closed: its waiter is gone
                    self._active -= 1

    def _grant(self, fut: asyncio.Future) -> None:
        if fut.done():  # cancelled while the grant was on its way
            self.release()
        else:
            fut.set_result(None)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


def _default_limit() -> int:
    try:
        return max(1, int(os.environ.get(ENV_MAX_CONCURRENCY, DEFAULT_MAX_CONCURRENCY)))
    except ValueError:
        return DEFAULT_MAX_CONCURRENCY


LIMITER = ProcessLimiter(_default_limit())
