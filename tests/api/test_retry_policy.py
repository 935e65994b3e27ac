"""The retry policy as one table: which error gets which delay, how often, and the per-call time budget. No server:
the policy is a pure function of the error, what was already retried and the time spent."""
from __future__ import annotations

import pytest

from volc_pack.utils.api import errors
from volc_pack.utils.api.client import ClientConfig
from volc_pack.utils.api.retry import MIN_ATTEMPT_SECONDS, RetryState, call_budget, next_delay

CFG = ClientConfig(read_timeout=10.0, backoff_base=1.0, backoff_cap=16.0, max_rate_limit_retries=5,
                   max_connect_retries=2, rate_limit_budget=60.0)


def rate(code=50429, status=429):
    return errors.RateLimitError("x", code=code, http_status=status)


def service(code=None, status=500):
    return errors.ServiceError("x", code=code, http_status=status)


TABLE = [
    # (error, retries already made of its kind, expected delay or None)
    (rate(), 0, 1.0), (rate(), 3, 8.0), (rate(), 4, 16.0), (rate(), 5, None),
    (rate("FlowLimitExceeded"), 1, 2.0), (rate(None, 429), 0, 1.0),          # gateway throttle, plain-text 429
    (errors.ConnectFailedError("x", code="connect"), 0, 1.0), (errors.ConnectFailedError("x", code="connect"), 1, 2.0),
    (errors.ConnectFailedError("x", code="connect"), 2, None),
    (service(50500), 0, 0.5), (service(50501), 1, None), (service(50520, 400), 0, 0.5), (service(50522, 400), 0, 0.5),
    (service("ServiceTemporarilyUnavailable", 503), 0, 0.5), (service(None, 503), 1, None),
    (service(None, 200), 0, None),                                           # a malformed success answer
    (service(None, 404), 0, None),                                           # e.g. an expired result URL
    (errors.RequestTimeoutError("x", code="timeout"), 0, None),              # may be billed: not by default
    (errors.NetworkError("x"), 0, None), (errors.GhostFaceError("x", code=201304), 0, None),
    (errors.ContentReviewError("x", code=50519), 0, None), (errors.GatewayAuthError("x", code="AccessDenied"), 0, None),
]
KIND = {errors.RateLimitError: "rate", errors.ConnectFailedError: "connect", errors.ServiceError: "once",
        errors.RequestTimeoutError: "timeout"}


@pytest.mark.parametrize("index", range(len(TABLE)))
def test_retry_table(index):
    exc, done, expected = TABLE[index]
    state = RetryState(call_budget(CFG))
    state.counts[KIND.get(type(exc), "other")] = done
    state.backoff = 1.0 * (2 ** done - 1) if isinstance(exc, errors.RateLimitError) else 0.0
    delay = next_delay(exc, state, CFG, jitter=lambda low, high: high)
    assert delay == expected


def test_timeout_retry_is_opt_in_and_once():
    cfg = ClientConfig(read_timeout=10.0, retry_read_timeout=True)
    state = RetryState(call_budget(cfg))
    timeout = errors.RequestTimeoutError("x", code="timeout")
    assert next_delay(timeout, state, cfg) == 0.5
    assert next_delay(timeout, state, cfg) is None


def test_budget_is_timeout_times_attempts_plus_backoff():
    assert call_budget(ClientConfig(read_timeout=10.0)) == 10.0 + 60.0
    assert call_budget(ClientConfig(read_timeout=10.0, retry_read_timeout=True)) == 20.0 + 60.0


def test_no_retry_starts_without_time_left_for_it():
    state = RetryState(call_budget(CFG))
    state.spent = state.budget - MIN_ATTEMPT_SECONDS  # a slow 503 ate the budget: 0.5 s backoff would not leave 1 s
    assert next_delay(service(50500), state, CFG) is None
    state.spent = state.budget - MIN_ATTEMPT_SECONDS - 0.5
    assert next_delay(service(50500), state, CFG) == 0.5


def test_rate_limit_backoff_is_bounded_in_total_seconds():
    cfg = ClientConfig(backoff_base=10.0, backoff_cap=40.0, rate_limit_budget=60.0, max_rate_limit_retries=9)
    state, delays = RetryState(call_budget(cfg)), []
    while (delay := next_delay(rate(), state, cfg, jitter=lambda low, high: high)) is not None:
        delays.append(delay)
    assert delays == [10.0, 20.0] and state.backoff == 30.0  # a third (40 s) would pass 60 s of backoff
