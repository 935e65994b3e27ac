"""Stream a batch of images through erase_batch: a bounded number loaded and in flight, each written when done.

At most `concurrency` images are loaded at once, so memory stays flat however many there are. Each image's results
are written as soon as they are back (atomically, see batch_files), then one line goes to report.jsonl; images whose
outputs already exist are skipped, so re-running a killed or interrupted batch calls the service only for the rest.
Ctrl-C stops starting new images and lets those in flight finish and be written; a second Ctrl-C abandons them.
"""
from __future__ import annotations

import asyncio
import ctypes
import importlib
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aimd import Aimd, throttled
from batch_files import Job, NoMaskError, ReportFile, load_job, outputs_exist, save_png
from pack_loader import PACK, load_pack
from progress import Progress

load_pack(nodes=False)
convert = importlib.import_module(f"{PACK}.utils.imaging.convert")
errors = importlib.import_module(f"{PACK}.utils.api.errors")

# Errors every further image would meet too (the key, the account's permissions): stop at the first.
FATAL = (errors.GatewayAuthError, errors.CredentialsError)
EraseFn = Callable[[np.ndarray, np.ndarray, dict], Awaitable[Any]]  # (image, mask, extra report fields)


class Fatal(Exception):
    """Stops the whole batch; str() is the one line the user gets."""


@dataclass
class Outcome:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # status -> images
    seconds: float = 0.0
    first_failure: tuple[str, str] = ("", "")  # (image, error)
    fatal: str = ""
    stopped: str = ""          # why no new images were started, when it was not the end of the list
    interrupted: bool = False
    abandoned: int = 0

    def count(self, *statuses: str) -> int:
        return sum(self.counts.get(s, 0) for s in statuses)


def _flatten(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-variant details of erase_batch's report, flattened into the report line's top-level fields."""
    variants = [v for item in items for v in item.get("variants") or [] if v]
    return {"seeds": [v.get("seed", (v.get("seeds") or [None])[-1]) for v in variants],
            "request_ids": [r for v in variants for r in v.get("request_ids", []) if r],
            "retries": [r for v in variants for r in v.get("retries", [])]}


def _as_uint8(images) -> list[np.ndarray]:
    return [convert.to_uint8(image) for image in images]


class BatchRunner:
    def __init__(self, jobs: list[Job], erase: EraseFn, report: ReportFile, *, concurrency: int,
                 overwrite: bool = False, keep_originals: bool = False, aimd: Aimd | None = None) -> None:
        self.jobs, self.erase, self.report, self.aimd = jobs, erase, report, aimd
        self.concurrency, self.overwrite, self.keep_originals = max(1, concurrency), overwrite, keep_originals
        self.outcome = Outcome(total=len(jobs))
        self.breaker = max(10, 2 * self.concurrency)  # this many failures in a row: the service is down, stop
        self._failed_in_a_row = 0
        self._stopping = False
        self._interrupts = 0
        self._busy: set[int] = set()
        self._workers: list[asyncio.Task] = []
        self._writes: set[asyncio.Task] = set()
        self._write_slots = asyncio.Semaphore(self.concurrency)
        # PNG encodes get threads of their own: on the shared pool they would queue ahead of the loads, preparations
        # and paste-backs that keep the calls going.
        self._writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="batch-writer")
        self.progress: Progress | None = None

    # --- the run ---
    async def run(self) -> Outcome:
        started = time.monotonic()
        todo = [job for job in self.jobs if not self._skip_done(job)]
        self.progress = Progress(len(todo))
        if self.outcome.count("skipped"):
            self.progress.note(f"skipping {self.outcome.count('skipped')} image(s) whose outputs exist "
                               "(--overwrite redoes them)")
        pending = iter(todo)
        restore = self._catch_ctrl_c(asyncio.get_running_loop())
        try:
            self._workers = [asyncio.ensure_future(self._worker(n, pending))
                             for n in range(min(self.concurrency, len(todo)))]
            results = await asyncio.gather(*self._workers, return_exceptions=True)
            await asyncio.gather(*list(self._writes), return_exceptions=True)
        finally:
            restore()
            self._writer.shutdown(wait=True)  # a write cancelled by a second Ctrl-C still ends with its rename
            self.progress.close()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
        self.outcome.seconds = time.monotonic() - started
        return self.outcome

    def _skip_done(self, job: Job) -> bool:
        if self.overwrite or not outputs_exist(job):
            return False
        self._record(job, "skipped", time.monotonic(), reason="outputs exist")
        return True

    async def _worker(self, n: int, pending) -> None:
        while not self._stopping:
            job = next(pending, None)
            if job is None:
                return
            if self._skip_done(job):  # another process sharing the output folder did it meanwhile
                continue
            self._busy.add(n)
            try:
                await self._one(job)
            except Fatal as exc:
                return self._fatal(str(exc))
            finally:
                self._busy.discard(n)

    def _fatal(self, message: str) -> None:
        self.outcome.fatal = self.outcome.fatal or message
        self._stop("")
        for task in self._workers:  # results already back are still written
            if task is not asyncio.current_task():
                task.cancel()

    async def _one(self, job: Job) -> None:
        started = time.monotonic()
        try:
            image, mask = await asyncio.to_thread(load_job, job)
        except NoMaskError as exc:
            return self._record(job, "no_mask", started, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - any unreadable file is that image's failure, not the batch's
            return self._record(job, "failed", started, error=f"cannot read {job.image.name} or its mask: "
                                f"{type(exc).__name__}: {exc}")
        extra: dict[str, Any] = {}
        try:
            result = await self.erase(image, mask, extra)
        except FATAL as exc:
            raise Fatal(shown(exc)) from None
        except errors.VolcError as exc:
            self._observe([throttled(exc.retries, exc.code)])
            # the report's error is the one-sentence headline; the service's words and ids are its details
            detail = {"details": exc.details, "request_ids": [exc.request_id] if exc.request_id else [],
                      "retries": exc.retries, **extra}
            if not self.keep_originals:
                return self._record(job, "failed", started, error=exc.headline, **detail)
            # --on-item-error "return original": the user asked for the original in place of a failed image.
            rgbs = await asyncio.to_thread(_as_uint8, [image[0]] * len(job.outputs))
            del image, mask
            items = [{"index": 0, "status": "partial", "variants": [
                {"status": "original", "error": exc.headline, "details": exc.details,
                 "error_type": type(exc).__name__}] * len(job.outputs)}]
            return await self._hand_off(rgbs, job, started, "original", error=exc.headline, items=items, **detail)
        del image, mask
        items = result.reports
        rgbs = await asyncio.to_thread(_as_uint8, result.images)
        del result  # the float results: only the uint8 copies wait to be written
        self._observe([throttled(v.get("retries", [])) for item in items for v in item.get("variants") or [] if v])
        status = {"ok": "ok", "partial": "partial"}.get(items[0].get("status"), "empty_mask")
        error = "; ".join(v["error"] for v in items[0].get("variants") or [] if v and v.get("error")) or None
        await self._hand_off(rgbs, job, started, status, error=error, items=items, **_flatten(items), **extra)

    async def _hand_off(self, rgbs: list[np.ndarray], job: Job, started: float, status: str, **fields: Any) -> None:
        """Give the results to a writer and return, so this slot starts its next image while the PNGs encode;
        at most `concurrency` images' results (uint8, a quarter of the float image) wait to be written."""
        await self._write_slots.acquire()
        task = asyncio.ensure_future(self._write(rgbs, job, started, status, fields))
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task) -> None:
        self._writes.discard(task)
        self._write_slots.release()

    async def _write(self, rgbs: list[np.ndarray], job: Job, started: float, status: str, fields: dict) -> None:
        def write() -> None:
            for rgb, target in zip(rgbs, job.outputs, strict=True):
                save_png(rgb, target)
        try:
            await asyncio.get_running_loop().run_in_executor(self._writer, write)
        except OSError as exc:  # disk full, permissions: every later image would fail the same way
            return self._fatal(f"cannot write {exc.filename or job.outputs[0]}: {exc.strerror or exc}.")
        self._record(job, status, started, **fields)

    # --- bookkeeping ---
    def _record(self, job: Job, status: str, started: float, **fields: Any) -> None:
        counts = self.outcome.counts
        counts[status] = counts.get(status, 0) + 1
        entry = {"index": job.index, "input": str(job.image), "mask": str(job.mask) if job.mask else "alpha",
                 "status": status, "outputs": [str(p) for p in job.outputs] if status not in ("failed", "no_mask")
                 else [], "seconds": round(time.monotonic() - started, 3), "error": None, "items": [], **fields}
        self.report.add(entry)
        if status == "skipped":
            return
        if status in ("failed", "no_mask", "original"):
            if not self.outcome.first_failure[0]:
                details = f"\n       {fields['details']}" if fields.get("details") else ""
                self.outcome.first_failure = (str(job.image), f"{fields.get('error')}{details}")
            self.progress.note(f"{'skipped' if status == 'no_mask' else 'failed'}: {job.image}: {fields['error']}")
        self.progress.advance(failed=status in ("failed", "original"))
        self._failed_in_a_row = self._failed_in_a_row + 1 if status in ("failed", "original") else 0
        if self._failed_in_a_row >= self.breaker and not self._stopping:
            self._stop(f"stopped starting new images after {self._failed_in_a_row} failed in a row")

    def _observe(self, outcomes: list[bool]) -> None:
        if self.aimd is not None:
            for was_throttled in outcomes:
                self.aimd.observe(was_throttled)

    def _stop(self, why: str) -> None:
        self._stopping = True
        self.outcome.stopped = self.outcome.stopped or why
        if why:
            self.progress.note(f"{why}; finishing the {self._in_flight()} in flight")

    # --- Ctrl-C ---
    def interrupt(self) -> None:
        self._interrupts += 1
        self.outcome.interrupted = True
        if self._interrupts == 1:
            self._stopping = True
            self.progress.note(f"\ninterrupted: finishing the {self._in_flight()} image(s) in flight and writing "
                               "them; press Ctrl-C again to abandon them")
            return
        self.outcome.abandoned = self._in_flight()
        for task in [*self._workers, *self._writes]:
            task.cancel()

    def _in_flight(self) -> int:
        return len(self._busy) + len(self._writes)

    def _catch_ctrl_c(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.signal(signal.SIGINT, lambda *_: loop.call_soon_threadsafe(self.interrupt))
        return lambda: signal.signal(signal.SIGINT, previous)


def steady_heap() -> None:
    """Keep the process's memory flat over a long batch (glibc only; elsewhere nothing changes).

    glibc serves a freed image-sized buffer's successors from its heaps once its dynamic mmap threshold has grown,
    and with one heap per worker thread the fragments add up: 120 photos then peaked ~30% above 24. A fixed 1 MiB
    threshold maps every image buffer on its own and gives it back when freed; two heaps are plenty for the rest.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return
    mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD (setting it also stops the dynamic adjustment)
    mallopt(-8, 2)        # M_ARENA_MAX


# --- the end of a run ----------------------------------------------------------------------------------------------

def summary_lines(outcome: Outcome, aimd: Aimd | None) -> list[str]:
    c = outcome.count
    done = c("ok", "partial", "empty_mask", "original", "failed", "no_mask")
    rate = f" ({done / outcome.seconds:.2f} images/s)" if outcome.seconds > 0 and done else ""
    parts = [f"{c('ok', 'partial')} erased" + (f" ({c('partial')} with some variants kept original)"
                                                 if c("partial") else ""),
             f"{c('skipped')} skipped (outputs exist)", f"{c('failed')} failed"]
    if c("original"):
        parts.append(f"{c('original')} failed and kept the original (--on-item-error)")
    if c("no_mask"):
        parts.append(f"{c('no_mask')} without a mask")
    if c("empty_mask"):
        parts.append(f"{c('empty_mask')} with an empty mask (copied unchanged)")
    lines = [f"{outcome.total} images: {', '.join(parts)}; {outcome.seconds:.1f} s{rate}"]
    if aimd is not None and aimd.summary():
        lines.append(aimd.summary())
    return lines


def shown(exc: BaseException) -> str:
    """An error for stderr: its one-sentence headline, then the service's words and ids indented on the next line."""
    details = getattr(exc, "details", "")
    return f"{getattr(exc, 'headline', exc)}\n       {details}" if details else str(getattr(exc, "headline", exc))


def exit_code(outcome: Outcome) -> tuple[int, str]:
    """The exit code and the one line for stderr (empty on success)."""
    c = outcome.count
    if outcome.interrupted:
        left = outcome.total - c("ok", "partial", "empty_mask", "original", "failed", "no_mask", "skipped")
        return 130, (f"interrupted: {outcome.abandoned} image(s) abandoned in flight, {left} not done; "
                     "run the same command again to do the rest")
    if outcome.fatal:
        return 1, f"error: {outcome.fatal}"
    bad = c("failed", "no_mask")
    if c("original") and not c("ok", "partial"):
        bad += c("original")  # nothing at all was erased: returning originals would only hide the cause
    if bad or outcome.stopped:
        path, error = outcome.first_failure
        if outcome.total == 1:
            return 1, f"error: {error}"
        why = f"{outcome.stopped}; " if outcome.stopped else ""
        return 1, f"error: {why}{bad} of {outcome.total} images were not erased; first, {path}: {error}"
    return 0, ""
