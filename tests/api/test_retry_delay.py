"""The retry policy as one table: error and earlier retries in, delay bounds out (or None: raise). No server.

The jitter factor is random.uniform(0.5, 1.0); each row is evaluated with the factor pinned at both ends, so the
bounds are exact, and once more with the real jitter, which must land between them.
"""
from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from volc_pack.utils.api import client as client_module
from volc_pack.utils.api.client import ClientConfig, VisualClient
from volc_pack.utils.api.errors import (ConnectFailedError, GhostFaceError, InputRejectedError, RateLimitError,
                                        RequestTimeoutError, ServiceError)

CONFIG = ClientConfig(backoff_base=1.0, backoff_cap=16.0, max_rate_limit_retries=5, max_connect_retries=2,
                      rate_limit_budget=60.0)
ERRORS = {
    "50429": RateLimitError("QPS", code=50429), "50430": RateLimitError("concurrency", code=50430),
    "connect": ConnectFailedError("refused"), "timeout": RequestTimeoutError("no answer"),
    "50500": ServiceError("internal", code=50500), "50501": ServiceError("internal", code=50501),
    "50200": InputRejectedError("bad argument", code=50200), "201304": GhostFaceError("ghost", code=201304),
}

# (error, reasons of the retries so far, backoff seconds spent, config changes) -> (shortest, longest) or None
TABLE = [
    # rate limits: base * 2^n, capped, times jitter 0.5..1; the two codes count together
    ("50429", [], 0.0, {}, (0.5, 1.0)),
    ("50429", ["50429"], 0.0, {}, (1.0, 2.0)),
    ("50430", ["50429", "50429"], 0.0, {}, (2.0, 4.0)),
    ("50429", ["50429"] * 3, 0.0, {}, (4.0, 8.0)),
    ("50429", ["50430"] * 4, 0.0, {}, (8.0, 16.0)),
    ("50429", ["50429"] * 5, 0.0, {}, None),                                    # max_rate_limit_retries
    ("50429", ["50429"] * 5, 0.0, {"max_rate_limit_retries": 9}, (8.0, 16.0)),  # 32 s capped at 16
    ("50429", ["50429"] * 8, 0.0, {"max_rate_limit_retries": 9}, (8.0, 16.0)),
    ("50429", ["connect", "50500"], 0.0, {}, (0.5, 1.0)),                       # other retries do not count
    ("50429", [], 59.0, {}, (0.5, 1.0)),                                        # within the backoff budget
    ("50429", [], 59.6, {}, None),                                              # would exceed it
    # connect failures: base * 2^n times jitter, at most max_connect_retries
    ("connect", [], 0.0, {}, (0.5, 1.0)),
    ("connect", ["connect"], 0.0, {}, (1.0, 2.0)),
    ("connect", ["connect", "connect"], 0.0, {}, None),
    ("connect", [], 0.0, {"backoff_base": 0.1}, (0.05, 0.1)),
    # internal errors: once, after half a second, shared between the two codes
    ("50500", [], 0.0, {}, (0.5, 0.5)),
    ("50501", [], 0.0, {}, (0.5, 0.5)),
    ("50501", ["50500"], 0.0, {}, None),
    # a read timeout may have been billed: never, unless opted in, then once
    ("timeout", [], 0.0, {}, None),
    ("timeout", [], 0.0, {"retry_read_timeout": True}, (0.5, 0.5)),
    ("timeout", ["timeout"], 0.0, {"retry_read_timeout": True}, None),
    # everything else: at once
    ("50200", [], 0.0, {}, None),
    ("201304", [], 0.0, {}, None),
]


def delay(error: str, reasons: list[str], spent: float, changes: dict) -> float | None:
    config = ClientConfig(**{**CONFIG.__dict__, **changes})
    return VisualClient(config=config)._retry_delay(ERRORS[error], list(reasons), spent)


@pytest.mark.parametrize("error, reasons, spent, changes, bounds", TABLE,
                         ids=[f"{row[0]}-after-{len(row[1])}-{row[2]:g}s-{i}" for i, row in enumerate(TABLE)])
def test_retry_delay(monkeypatch, error, reasons, spent, changes, bounds):
    got = []
    for end in (0, 1):  # jitter pinned at 0.5, then at 1.0
        monkeypatch.setattr(client_module, "random", SimpleNamespace(uniform=lambda low, high, e=end: (low, high)[e]))
        got.append(delay(error, reasons, spent, changes))
    if bounds is None:
        assert got == [None, None]
        return
    assert got == pytest.approx(list(bounds))
    monkeypatch.setattr(client_module, "random", random)
    for _ in range(20):
        assert bounds[0] <= delay(error, reasons, spent, changes) <= bounds[1]
