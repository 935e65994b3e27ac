"""The retry policy and the per-call time budget (the README's "Retry policy" table says the same).

- `timeout` (ClientConfig.read_timeout) bounds each attempt as a whole: upload, answer, result download.
- 50429/50430 and gateway throttles (HTTP 429): exponential backoff with jitter, at most max_rate_limit_retries
  retries and rate_limit_budget seconds of backoff.
- Connect failures (the request never reached the server): at most max_connect_retries retries.
- 50500/50501/50520-50522 and "temporarily unavailable" (HTTP 503): one retry, shared between them.
- A timed-out attempt: not retried (it may have been billed) unless retry_read_timeout, then once.
- Everything else, and every failure after the answer arrived (result download, malformed result): raised at once.
- The whole call, attempts and backoff together, never exceeds call_budget(): read_timeout x (2 if
  retry_read_timeout else 1) + rate_limit_budget; a retry that cannot get at least MIN_ATTEMPT_SECONDS of it is
  not started. Waiting for a free concurrency slot is not counted.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import (RETRY_ONCE_CODES, ConnectFailedError, RateLimitError, RequestTimeoutError, ServiceError,
                     VolcError)

if TYPE_CHECKING:
    from .client import ClientConfig

MIN_ATTEMPT_SECONDS = 1.0
ONCE_DELAY = 0.5


def call_budget(cfg: ClientConfig) -> float:
    return cfg.read_timeout * (2 if cfg.retry_read_timeout else 1) + cfg.rate_limit_budget


@dataclass
class RetryState:
    budget: float                    # seconds the call may still spend in all, see call_budget()
    spent: float = 0.0               # seconds spent in attempts and backoff so far
    backoff: float = 0.0             # of which backoff before rate-limit retries
    counts: Counter = field(default_factory=Counter)

    def left(self) -> float:
        return self.budget - self.spent


def retry_kind(exc: VolcError, cfg: ClientConfig) -> str | None:
    """Which retry rule applies to `exc`, if any."""
    if isinstance(exc, RateLimitError):
        return "rate"
    if isinstance(exc, ConnectFailedError):
        return "connect"
    if isinstance(exc, RequestTimeoutError):
        return "timeout" if cfg.retry_read_timeout else None
    if isinstance(exc, ServiceError) and (exc.code in RETRY_ONCE_CODES or exc.http_status == 503):
        return "once"
    return None


def next_delay(exc: VolcError, state: RetryState, cfg: ClientConfig, jitter=random.uniform) -> float | None:
    """Seconds to wait before the next attempt (and the state updated for it), or None: raise `exc`."""
    kind = retry_kind(exc, cfg)
    n = state.counts[kind]
    if kind == "rate":
        delay = min(cfg.backoff_cap, cfg.backoff_base * 2 ** n) * jitter(0.5, 1.0)
        if n >= cfg.max_rate_limit_retries or state.backoff + delay > cfg.rate_limit_budget:
            return None
    elif kind == "connect" and n < cfg.max_connect_retries:
        delay = cfg.backoff_base * 2 ** n * jitter(0.5, 1.0)
    elif kind in ("once", "timeout") and n == 0:
        delay = ONCE_DELAY
    else:
        return None
    if state.left() - delay < min(cfg.read_timeout, MIN_ATTEMPT_SECONDS):
        return None
    state.counts[kind] += 1
    state.spent += delay
    state.backoff += delay if kind == "rate" else 0.0
    return delay
