"""Additive increase, multiplicative decrease of the calls in flight, driven by the account's rate limits.

The client already backs off and retries a single 50429/50430. When they are sustained (at least two of the recent
calls were throttled) the batch halves its concurrency; every `limit` calls that went through without being
throttled raise it by one again, up to the ceiling the user asked for. So a too-high --concurrency costs a few
throttled calls, not a failed batch.
"""
from __future__ import annotations

from collections import deque

RATE_LIMIT_CODES = ("50429", "50430")


def throttled(reasons: list[str], code: object = None) -> bool:
    """Whether one call met a rate limit: retried on one, or failed with one."""
    return str(code) in RATE_LIMIT_CODES or any(r in RATE_LIMIT_CODES for r in reasons)


class Aimd:
    def __init__(self, ceiling: int, set_limit) -> None:
        self.ceiling = self.limit = self.lowest = max(1, ceiling)
        self._set_limit = set_limit
        self._recent: deque[bool] = deque(maxlen=max(4, self.limit))
        self._credit = 0
        self.cuts = 0

    def observe(self, was_throttled: bool) -> None:
        self._recent.append(was_throttled)
        if was_throttled:
            self._credit = 0
            if sum(self._recent) >= 2 and self.limit > 1:
                self.cuts += 1
                self._change(max(1, self.limit // 2))
                self._recent.clear()  # judge the new level on calls made at it
            return
        self._credit += 1
        if self._credit >= self.limit and self.limit < self.ceiling:
            self._credit = 0
            self._change(self.limit + 1)

    def _change(self, limit: int) -> None:
        if limit != self.limit:
            self.limit = limit
            self.lowest = min(self.lowest, limit)
            self._recent = deque(self._recent, maxlen=max(4, limit))
            self._set_limit(limit)

    def summary(self) -> str:
        if not self.cuts:
            return ""
        return (f"rate limits: concurrency lowered {self.cuts} time(s), to {self.lowest} at the lowest; "
                f"ended at {self.limit} of {self.ceiling}")
