"""The client against answers a real service may give that are not the happy path, over real HTTP: every malformed
success shape is one ServiceError sentence, error bodies the code table does not know are quoted (never blamed on
the credentials), the deadline bounds each attempt as a whole, result URLs are fetched only from where they may be,
and no echoed credential survives into an error, a result or a log line."""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

from helpers.answers import MALFORMED, Witness
from helpers.samples import sample_pair
from volc_pack.utils.api import errors
from volc_pack.utils.api.client import ClientConfig, InpaintOptions, VisualClient
from volc_pack.utils.api.credentials import Credentials
from volc_pack.utils.api.downloads import blocked_reason
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault

IMAGE, MASK = sample_pair()
TOKEN = "STSq4Jf3Kd8Ls2Pq9Vx5Mz7Cn1Gh"
FAST = dict(backoff_base=0.01, backoff_cap=0.05, read_timeout=10.0)


def client(standin, token=None, **config) -> VisualClient:
    cred = Credentials(STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, token, "test")
    return VisualClient(cred, ClientConfig(endpoint=standin.endpoint, **{**FAST, **config}))


def inpaint(standin, token=None, return_url=False, **config):
    return asyncio.run(client(standin, token, **config).inpaint(IMAGE, MASK, InpaintOptions(return_url=return_url)))


def fails(standin, cls, fault=None, **kwargs):
    if fault is not None:
        standin.inject(fault)
    started = time.monotonic()
    with pytest.raises(cls) as info:
        inpaint(standin, **kwargs)
    return info.value, time.monotonic() - started


def one_sentence(exc: errors.VolcError) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text and "b'" not in text and "{" not in text, text
    assert exc.message.endswith(".") and exc.hint.endswith("."), text
    return text


# --- malformed success answers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_malformed_success_answer_is_one_service_error_without_retry(standin, shape):
    exc, _ = fails(standin, errors.ServiceError, Fault("malformed", shape=shape, times=2))
    assert MALFORMED[shape] in one_sentence(exc) and exc.http_status == 200
    assert standin.count() == 1 and standin.pending_faults() == 1


# --- error bodies the table does not know --------------------------------------------------------------------------

def test_plain_text_400_is_quoted_with_its_status(standin):
    exc, _ = fails(standin, errors.ServiceError, Fault("plain_text", status=400))
    text = one_sentence(exc)
    assert 'HTTP 400 in plain text: "Error when parsing request"' in text and "credentials" not in text.lower()
    assert standin.count() == 1


@pytest.mark.parametrize("fault,cls,requests", [
    (Fault("gateway", code="ServiceTemporarilyUnavailable", status=503, times=5), errors.ServiceError, 2),
    (Fault("plain_text", status=503, times=5), errors.ServiceError, 2),
    (Fault("gateway", code="FlowLimitExceeded", status=429, times=9), errors.RateLimitError, 4),
    (Fault("gateway", code="SomethingNew", status=429, times=9), errors.RateLimitError, 4),
    (Fault("plain_text", status=429, times=9), errors.RateLimitError, 4),
])
def test_gateway_throttle_and_outage_are_retried_like_50429_and_50500(standin, fault, cls, requests):
    exc, _ = fails(standin, cls, fault, max_rate_limit_retries=3)
    text = one_sentence(exc)
    assert "credentials" not in text.lower() and standin.count() == requests
    if fault.kind == "gateway":
        assert fault.code in text


def test_gateway_outage_once_then_success(standin):
    standin.inject(Fault("gateway", code="ServiceTemporarilyUnavailable", status=503))
    result = inpaint(standin)
    assert result.attempts == 2 and result.retries == ["ServiceTemporarilyUnavailable"]


def test_unknown_gateway_code_is_quoted_not_blamed_on_credentials(standin):
    exc, _ = fails(standin, errors.ServiceError, Fault("gateway", code="BrandNewRefusal", status=418))
    text = one_sentence(exc)
    assert "BrandNewRefusal" in text and "credentials" not in text.lower() and exc.http_status == 418


@pytest.mark.parametrize("code,cls,requests", [(50518, errors.ContentReviewError, 1),
                                               (50519, errors.ContentReviewError, 1),
                                               (50520, errors.ServiceError, 2), (50521, errors.ServiceError, 2),
                                               (50522, errors.ServiceError, 2)])
def test_codes_50518_to_50522(standin, code, cls, requests):
    exc, _ = fails(standin, cls, Fault("error", code=code, times=3))
    assert type(exc) is cls and exc.code == code and standin.count() == requests
    assert "unexpected" not in one_sentence(exc)


# --- the deadline --------------------------------------------------------------------------------------------------

def test_trickled_answer_ends_at_the_deadline_with_one_timeout_error(standin):
    exc, seconds = fails(standin, errors.RequestTimeoutError, Fault("trickle", rate=20), read_timeout=1.0)
    assert "within 1 s (stopped while reading the answer)" in one_sentence(exc)
    assert 1.0 <= seconds < 4 and standin.count() == 1


def test_trickled_download_ends_at_the_same_deadline(standin):
    exc, seconds = fails(standin, errors.RequestTimeoutError, Fault("trickle", shape="download", rate=50),
                         read_timeout=1.0)
    assert "downloading the result" in exc.message and 1.0 <= seconds < 4
    assert standin.count() == 1 and len(standin.downloads) == 1


def test_opt_in_timeout_retry_happens_once_and_the_total_stays_bounded(standin):
    exc, seconds = fails(standin, errors.RequestTimeoutError, Fault("trickle", rate=20, times=5), read_timeout=0.6,
                         retry_read_timeout=True)
    assert exc.attempts == 2 and standin.count() == 2
    assert 1.2 <= seconds < 5  # two deadlines of 0.6 s and a 0.5 s pause, never a third attempt


# --- result URLs ---------------------------------------------------------------------------------------------------

def test_inline_result_is_used_and_its_url_only_reported(standin):
    result = inpaint(standin, return_url=True)
    assert result.data[:2] == b"\xff\xd8" and standin.downloads == []
    assert len(result.urls) == 1 and result.urls[0].startswith(standin.endpoint + "/results/")


def test_url_only_answer_from_the_standins_own_origin_is_downloaded(standin):
    standin.inject(Fault("url_only"))
    result = inpaint(standin)
    assert result.data[:2] == b"\xff\xd8" and len(standin.downloads) == 1


@pytest.mark.parametrize("url,why", [
    ("http://169.254.169.254/latest/meta-data/", "is not https"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
    ("https://localhost/result.jpg", "a loopback address"),
    ("https://10.1.2.3/result.jpg", "a private address"),
    ("https://[::ffff:192.168.0.1]/result.jpg", "a private address"),
    ("https://user:pw@example.com/result.jpg", "user name or password"),
    ("ftp://example.com/result.jpg", "not a usable http(s) URL"),
    ("https://WITNESS/result.jpg", "a loopback address"),
    ("http://WITNESS/result.jpg", "is not https"),
])
def test_result_urls_off_limits_are_refused_before_any_connection(standin, url, why):
    witness = Witness()
    try:
        url = url.replace("WITNESS", f"127.0.0.1:{witness.port}")
        exc, _ = fails(standin, errors.ServiceError, Fault("url_only", url=url))
        assert why in one_sentence(exc) and "not downloaded" in exc.message
        assert witness.hits == [] and standin.downloads == [] and standin.count() == 1
    finally:
        witness.close()


def test_a_result_url_carrying_our_credentials_is_not_fetched(standin, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"{standin.endpoint}/results/x.jpg?key={STANDIN_ACCESS_KEY}&token={TOKEN}"
    exc, _ = fails(standin, errors.ServiceError, Fault("url_only", url=url), token=TOKEN)
    assert "carries this pack's credentials" in one_sentence(exc) and standin.downloads == []
    assert STANDIN_ACCESS_KEY not in caplog.text + str(exc) and TOKEN not in caplog.text + str(exc)


def test_redirects_are_not_followed(standin):
    exc, _ = fails(standin, errors.ServiceError, Fault("url_only", shape="redirect"))
    assert "redirected (HTTP 302)" in one_sentence(exc)
    assert [status for _, status in standin.downloads] == [302] and standin.count() == 1


def test_download_is_capped_in_size(standin):
    exc, _ = fails(standin, errors.ServiceError, Fault("url_only"), max_download_bytes=1000)
    assert "The result at 127.0.0.1 exceeds 1,000 bytes; reading stopped." in one_sentence(exc)
    assert len(standin.downloads) == 1


@pytest.mark.parametrize("address,blocked", [("8.8.8.8", None), ("2606:4700::1111", None),
                                             ("127.0.0.1", "loopback"), ("::1", "loopback"),
                                             ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
                                             ("10.0.0.1", "private"), ("172.16.5.4", "private"),
                                             ("192.168.1.1", "private"), ("fc00::1", "private"),
                                             ("::ffff:10.0.0.1", "private"), ("100.64.0.1", "not a public"),
                                             ("0.0.0.0", "address"), ("224.0.0.1", "multicast")])
def test_blocked_addresses(address, blocked):
    reason = blocked_reason(address)
    assert (reason is None) if blocked is None else (blocked in reason)


# --- echoed credentials --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["gateway", "service", "success"])
def test_echoed_credentials_are_scrubbed_from_every_field(standin, shape, caplog):
    caplog.set_level(logging.DEBUG)
    standin.inject(Fault("echo_credentials", shape=shape))
    try:
        result = inpaint(standin, token=TOKEN, return_url=True)
        seen = [result.request_id, *result.urls]
        assert result.request_id.endswith("ak=…" + STANDIN_ACCESS_KEY[-4:] + " sk=… token=…")
    except errors.VolcError as exc:
        seen = [str(exc), repr(exc), repr(exc.__dict__)]
        assert "…" + STANDIN_ACCESS_KEY[-4:] in str(exc)
    blob = "\n".join(seen) + caplog.text
    for secret in (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, TOKEN):
        for start in range(0, len(secret) - 8):
            assert secret[start:start + 8] not in blob, f"a piece of {secret[:4]}… leaked"
