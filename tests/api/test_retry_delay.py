"""The retry policy as one table: error and earlier retries in, delay bounds out (or None: raise). No server.

The jitter factor is random.uniform(0.5, 1.0); each row is evaluated with the factor pinned at both ends, so the
bounds are exact, and once more with the real jitter, which must land between them. The per-call time budget
(utils/api/retry.py) follows the table.
"""
from __future__ import annotations

import pytest
from volc_pack.utils.api.client import ClientConfig
from volc_pack.utils.api.errors import (ConnectFailedError, ContentReviewError, GatewayAuthError, GhostFaceError,
                                        InputRejectedError, NetworkError, RateLimitError, RequestTimeoutError,
                                        ServiceError)
from volc_pack.utils.api.retry import MIN_ATTEMPT_SECONDS, RetryState, call_budget, next_delay, retry_kind

CONFIG = ClientConfig(backoff_base=1.0, backoff_cap=16.0, max_rate_limit_retries=5, max_connect_retries=2,
                      rate_limit_budget=60.0)
ERRORS = {
    "50429": RateLimitError("QPS", code=50429, http_status=429),
    "50430": RateLimitError("concurrency", code=50430, http_status=429),
    "FlowLimitExceeded": RateLimitError("gateway throttle", code="FlowLimitExceeded", http_status=429),
    "plain-429": RateLimitError("plain text", http_status=429),
    "connect": ConnectFailedError("refused", code="connect"), "timeout": RequestTimeoutError("no answer"),
    "50500": ServiceError("internal", code=50500, http_status=500),
    "50501": ServiceError("internal", code=50501, http_status=500),
    "50520": ServiceError("review internal", code=50520, http_status=400),
    "50522": ServiceError("copyright internal", code=50522, http_status=400),
    "gateway-503": ServiceError("unavailable", code="ServiceTemporarilyUnavailable", http_status=503),
    "plain-503": ServiceError("unavailable", http_status=503),
    "malformed-200": ServiceError("broken success answer", http_status=200),
    "download-404": ServiceError("expired result URL", http_status=404),
    "broken": NetworkError("connection broke"),
    "50200": InputRejectedError("bad argument", code=50200), "201304": GhostFaceError("ghost", code=201304),
    "50519": ContentReviewError("copyright", code=50519),
    "AccessDenied": GatewayAuthError("denied", code="AccessDenied", http_status=403),
}

# (error, earlier retries by error name, backoff seconds spent, config changes) -> (shortest, longest) or None
TABLE = [
    # rate limits, gateway throttles included: base * 2^n, capped, times jitter 0.5..1; all count together
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
    ("FlowLimitExceeded", ["50429"], 0.0, {}, (1.0, 2.0)),
    ("plain-429", ["FlowLimitExceeded"] * 5, 0.0, {}, None),
    # connect failures: base * 2^n times jitter, at most max_connect_retries
    ("connect", [], 0.0, {}, (0.5, 1.0)),
    ("connect", ["connect"], 0.0, {}, (1.0, 2.0)),
    ("connect", ["connect", "connect"], 0.0, {}, None),
    ("connect", [], 0.0, {"backoff_base": 0.1}, (0.05, 0.1)),
    # internal errors and "temporarily unavailable": once, after half a second, shared between them
    ("50500", [], 0.0, {}, (0.5, 0.5)),
    ("50501", [], 0.0, {}, (0.5, 0.5)),
    ("50501", ["50500"], 0.0, {}, None),
    ("50520", [], 0.0, {}, (0.5, 0.5)),
    ("50522", ["gateway-503"], 0.0, {}, None),
    ("gateway-503", [], 0.0, {}, (0.5, 0.5)),
    ("plain-503", ["50500"], 0.0, {}, None),
    # a read timeout may have been billed: never, unless opted in, then once
    ("timeout", [], 0.0, {}, None),
    ("timeout", [], 0.0, {"retry_read_timeout": True}, (0.5, 0.5)),
    ("timeout", ["timeout"], 0.0, {"retry_read_timeout": True}, None),
    # everything else, and every failure once the answer arrived: at once
    ("malformed-200", [], 0.0, {}, None), ("download-404", [], 0.0, {}, None), ("broken", [], 0.0, {}, None),
    ("50200", [], 0.0, {}, None), ("201304", [], 0.0, {}, None), ("50519", [], 0.0, {}, None),
    ("AccessDenied", [], 0.0, {}, None),
]


def delay(error: str, earlier: list[str], backoff: float, changes: dict, jitter=None) -> float | None:
    config = ClientConfig(**{**CONFIG.__dict__, **changes})
    state = RetryState(call_budget(config), backoff=backoff)
    for name in earlier:
        state.counts[retry_kind(ERRORS[name], config)] += 1
    if jitter is None:
        return next_delay(ERRORS[error], state, config)
    return next_delay(ERRORS[error], state, config, jitter=jitter)


@pytest.mark.parametrize("error, earlier, backoff, changes, bounds", TABLE,
                         ids=[f"{row[0]}-after-{len(row[1])}-{row[2]:g}s-{i}" for i, row in enumerate(TABLE)])
def test_retry_delay(error, earlier, backoff, changes, bounds):
    got = [delay(error, earlier, backoff, changes, jitter=lambda low, high, e=end: (low, high)[e]) for end in (0, 1)]
    if bounds is None:
        assert got == [None, None]
        return
    assert got == pytest.approx(list(bounds))
    for _ in range(20):
        assert bounds[0] <= delay(error, earlier, backoff, changes) <= bounds[1]


def test_budget_is_the_timeout_per_allowed_attempt_plus_the_backoff_budget():
    assert call_budget(ClientConfig(read_timeout=10.0)) == 10.0 + 60.0
    assert call_budget(ClientConfig(read_timeout=10.0, retry_read_timeout=True)) == 20.0 + 60.0


def test_no_retry_starts_without_time_left_for_an_attempt():
    state = RetryState(call_budget(CONFIG))
    state.spent = state.budget - MIN_ATTEMPT_SECONDS  # a slow 503 ate the budget: after 0.5 s less than 1 s is left
    assert next_delay(ERRORS["50500"], state, CONFIG) is None
    state.spent = state.budget - MIN_ATTEMPT_SECONDS - 0.5
    assert next_delay(ERRORS["50500"], state, CONFIG) == 0.5


def test_rate_limit_backoff_is_bounded_in_total_seconds():
    config = ClientConfig(backoff_base=10.0, backoff_cap=40.0, rate_limit_budget=60.0, max_rate_limit_retries=9)
    state, delays = RetryState(call_budget(config)), []
    while (wait := next_delay(ERRORS["50429"], state, config, jitter=lambda low, high: high)) is not None:
        delays.append(wait)
    assert delays == [10.0, 20.0] and state.backoff == 30.0  # a third (40 s) would pass 60 s of backoff
