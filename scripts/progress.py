"""Progress of a batch: a tqdm bar on a terminal, plain "done/total" lines otherwise (logs, CI, pipes).

tqdm is optional (scripts only, never the nodes): without it a terminal gets the plain lines too.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

PLAIN_EVERY_SECONDS = 10.0


def _eta(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """done/total with failures, rate and ETA. `note()` prints a line without breaking the bar."""

    def __init__(self, total: int, *, stream: TextIO | None = None, terminal: bool | None = None,
                 every: float = PLAIN_EVERY_SECONDS) -> None:
        self.stream = stream or sys.stdout
        self.total, self.done, self.failed = total, 0, 0
        self.every, self.started = every, time.monotonic()
        self._last_line = self.started
        self.bar = None
        if terminal if terminal is not None else sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=total, unit="img", dynamic_ncols=True, smoothing=0.1, file=sys.stderr)

    def advance(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        if self.bar is not None:
            if failed:
                self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(1)
        elif time.monotonic() - self._last_line >= self.every:
            self.line()

    def line(self) -> None:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {_eta((self.total - self.done) / rate)}" if rate > 0 and self.done < self.total else ""
        print(f"{self.done}/{self.total} done, {self.failed} failed, {rate:.2f} images/s{eta}",
              file=self.stream, flush=True)
        self._last_line = time.monotonic()

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.total:
            self.line()
