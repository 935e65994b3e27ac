"""The client over real HTTP against the stand-in: success, every error class, the retry rules (counted at the
server), the concurrency bound, cancel, proxies, and that no secret leaks into logs or errors."""
from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from helpers.samples import sample_pair
from volc_pack.utils.api import errors
from volc_pack.utils.api.client import ClientConfig, InpaintOptions, LogoInfo, VisualClient
from volc_pack.utils.api.credentials import Credentials
from volc_pack.utils.api.limiter import ProcessLimiter
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault

IMAGE, MASK = sample_pair()
FAST = dict(backoff_base=0.01, backoff_cap=0.05, read_timeout=10.0)


def make_client(standin, *, credentials=None, cancel_check=None, limiter=None, **config) -> VisualClient:
    cred = credentials or Credentials(STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, None, "test")
    kwargs = {"cancel_check": cancel_check}
    if limiter is not None:
        kwargs["limiter"] = limiter
    return VisualClient(cred, ClientConfig(endpoint=standin.endpoint, **{**FAST, **config}), **kwargs)


def inpaint(client, **options):
    return asyncio.run(client.inpaint(IMAGE, MASK, InpaintOptions(**options)))


def test_success_returns_jpeg_and_sends_every_option(standin):
    logo = LogoInfo(add_logo=True, position=2, language=1, opacity=0.5, logo_text_content="demo")
    result = inpaint(make_client(standin), steps=12, strength=0.5, scale=9.0, seed=42, dilate_size=7,
                     quality="H", logo_info=logo)
    assert result.data[:2] == b"\xff\xd8" and result.request_id and result.attempts == 1
    (seen,) = standin.requests
    assert seen.action == "Img2ImgInpainting" and seen.req_key == "i2i_inpainting" and seen.signed
    assert {k: seen.params[k] for k in ("steps", "strength", "scale", "seed", "dilate_size", "quality")} == \
        {"steps": 12, "strength": 0.5, "scale": 9.0, "seed": 42, "dilate_size": 7, "quality": "H"}
    assert seen.params["logo_info"] == {"add_logo": True, "position": 2, "language": 1, "opacity": 0.5,
                                        "logo_text_content": "demo"}


def test_return_url_result_is_downloaded_when_no_inline_image(standin):
    standin.inject(Fault("expired_url"))
    with pytest.raises(errors.ServiceError, match="expired"):
        inpaint(make_client(standin), return_url=True)
    assert standin.count("i2i_inpainting") == 1


def test_saliency_returns_png_mask(standin):
    result = asyncio.run(make_client(standin).saliency(sample_pair(160, 140)[0], refine_mask=1))
    assert result.data.startswith(b"\x89PNG")
    assert standin.requests[-1].req_key == "saliency_seg" and standin.requests[-1].params["only_mask"] == 1


@pytest.mark.parametrize("code", [50429, 50430])
def test_rate_limit_is_retried_with_backoff_then_succeeds(standin, code):
    standin.inject(Fault("error", code=code, times=2))
    result = inpaint(make_client(standin))
    assert result.attempts == 3 and result.retries == [str(code)] * 2
    assert standin.count("i2i_inpainting") == 3


def test_rate_limit_retries_are_bounded_in_count(standin):
    standin.inject(Fault("error", code=50429, times=20))
    with pytest.raises(errors.RateLimitError) as info:
        inpaint(make_client(standin, max_rate_limit_retries=3))
    assert info.value.code == 50429 and info.value.http_status == 429
    assert standin.count("i2i_inpainting") == 4


def test_rate_limit_retries_are_bounded_in_total_time(standin):
    standin.inject(Fault("error", code=50430, times=20))
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError):
        inpaint(make_client(standin, backoff_base=0.2, backoff_cap=0.2, rate_limit_budget=0.5))
    assert time.monotonic() - started < 2.0
    assert 2 <= standin.count("i2i_inpainting") <= 5


@pytest.mark.parametrize("code", [50500, 50501])
def test_internal_error_is_retried_once(standin, code):
    standin.inject(Fault("error", code=code))
    assert inpaint(make_client(standin)).attempts == 2
    standin.clear()
    standin.inject(Fault("error", code=code, times=3))
    with pytest.raises(errors.ServiceError) as info:
        inpaint(make_client(standin))
    assert info.value.code == code and standin.count("i2i_inpainting") == 2


@pytest.mark.parametrize("shape", ["code", "algorithm", "message"])
def test_ghost_face_is_its_own_error_and_not_retried_by_the_client(standin, shape):
    standin.inject(Fault("ghost_face", shape=shape))
    with pytest.raises(errors.GhostFaceError) as info:
        inpaint(make_client(standin))
    assert info.value.code == 201304 and "seed" in info.value.hint
    assert standin.count("i2i_inpainting") == 1


CODE_CLASSES = {
    50200: errors.InputRejectedError, 50201: errors.InputRejectedError, 50204: errors.InputRejectedError,
    50205: errors.InputRejectedError, 50206: errors.InputRejectedError, 50207: errors.InputRejectedError,
    50213: errors.InputRejectedError, 50215: errors.InputRejectedError, 50400: errors.GatewayAuthError,
    50411: errors.ContentReviewError, 50412: errors.ContentReviewError, 50413: errors.ContentReviewError,
    50511: errors.ContentReviewError, 50512: errors.ContentReviewError,
}


@pytest.mark.parametrize("code", sorted(CODE_CLASSES))
def test_every_service_code_maps_to_its_class_without_retry(standin, code):
    standin.inject(Fault("error", code=code))
    with pytest.raises(CODE_CLASSES[code]) as info:
        inpaint(make_client(standin))
    text = str(info.value)
    assert info.value.code == code and info.value.request_id and info.value.hint
    assert "b'" not in text and "{" not in text
    assert standin.count("i2i_inpainting") == 1


GATEWAY = {"AccessDenied": (403, "IAM"), "LackPolicy": (403, "IAM"), "InvalidTimestamp": (400, "clock"),
           "MissingParameter": (400, "proxy"), "ServiceNotFound": (404, "VOLC_VISUAL_ENDPOINT")}


@pytest.mark.parametrize("code", sorted(GATEWAY))
def test_gateway_errors_are_explained_and_not_retried(standin, code):
    standin.inject(Fault("gateway", code=code))
    with pytest.raises(errors.GatewayAuthError) as info:
        inpaint(make_client(standin))
    status, word = GATEWAY[code]
    assert info.value.code == code and info.value.http_status == status and word in info.value.hint
    assert standin.count() == 1


def test_wrong_secret_is_signature_does_not_match(standin):
    bad = Credentials(STANDIN_ACCESS_KEY, "not-the-secret", None, "environment")
    with pytest.raises(errors.GatewayAuthError) as info:
        inpaint(make_client(standin, credentials=bad))
    assert info.value.code == "SignatureDoesNotMatch" and "VOLC_SECRETKEY" in info.value.hint
    # One short first line saying what is wrong and what to do; the gateway's words and ids on the next line.
    headline, details = str(info.value).split("\n")
    assert headline == "The secret key does not match access key …0000: fix VOLC_SECRETKEY."
    assert details.startswith('Gateway said: "') and "SignatureDoesNotMatch" in details
    assert f"request id {info.value.request_id}" in details and f"HTTP {info.value.http_status}" in details


def test_unknown_access_key_names_only_its_last_four_characters(standin):
    bad = Credentials("AKLTunknownEXAMPLEkeyZ9Q8", "whatever", None, "test")
    with pytest.raises(errors.GatewayAuthError) as info:
        inpaint(make_client(standin, credentials=bad))
    assert info.value.code == "InvalidAccessKey" and "Z9Q8" in str(info.value)
    assert "AKLTunknownEXAMPLEkeyZ9Q8" not in str(info.value)


def test_connection_reset_after_sending_is_not_retried(standin):
    standin.inject(Fault("reset"))
    with pytest.raises(errors.NetworkError, match="billed"):
        inpaint(make_client(standin))
    assert standin.count() == 1


def test_connect_refused_is_retried_then_reported():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the client connects

    class Dead:
        endpoint = f"http://127.0.0.1:{port}"

    started = time.monotonic()
    with pytest.raises(errors.ConnectFailedError) as info:
        inpaint(make_client(Dead, max_connect_retries=2))
    assert "Could not connect" in str(info.value) and time.monotonic() - started < 3


def test_read_timeout_is_not_retried_by_default(standin):
    standin.inject(Fault("latency", seconds=1.5, times=2))
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeoutError):
        inpaint(make_client(standin, read_timeout=0.4))
    assert time.monotonic() - started < 1.4 and standin.count() == 1


def test_read_timeout_retry_is_opt_in(standin):
    standin.inject(Fault("latency", seconds=1.5))
    assert inpaint(make_client(standin, read_timeout=0.6, retry_read_timeout=True)).attempts == 2
    assert standin.count() == 2


@pytest.mark.parametrize("kind,match", [("truncated_json", "could not be read"), ("bad_base64", "base64")])
def test_broken_answers_are_service_errors(standin, kind, match):
    standin.inject(Fault(kind))
    with pytest.raises(errors.ServiceError, match=match):
        inpaint(make_client(standin))
    assert standin.count() == 1


def test_plain_http_endpoint_off_this_machine_is_refused(standin):
    client = VisualClient(Credentials("a" * 12, "b" * 12, None, "t"), ClientConfig(endpoint="http://example.com"))
    with pytest.raises(errors.InputError, match="VOLC_VISUAL_ENDPOINT"):
        inpaint(client)


def test_concurrency_bound_holds_across_event_loops(standin):
    standin.inject(Fault("latency", seconds=0.3, times=6))
    limiter = ProcessLimiter(2)
    client = make_client(standin, limiter=limiter)
    peak = []

    async def three():
        async def one():
            await client.inpaint(IMAGE, MASK, InpaintOptions())
        watcher = asyncio.ensure_future(_watch(limiter, peak))
        await asyncio.gather(one(), one(), one())
        watcher.cancel()

    started = time.monotonic()
    threads = [threading.Thread(target=asyncio.run, args=(three(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert standin.count() == 6 and max(peak) == 2
    assert time.monotonic() - started >= 0.9  # 6 calls of 0.3 s, two at a time


async def _watch(limiter, peak):
    while True:
        peak.append(limiter.active)
        await asyncio.sleep(0.01)


def test_cancel_stops_an_in_flight_call_within_a_second(standin):
    standin.inject(Fault("latency", seconds=5))
    pressed = threading.Event()
    threading.Timer(0.3, pressed.set).start()

    class Interrupted(Exception):
        pass

    def check():
        if pressed.is_set():
            raise Interrupted()

    started = time.monotonic()
    with pytest.raises(Interrupted):
        inpaint(make_client(standin, cancel_check=check))
    assert time.monotonic() - started < 1.3  # 0.3 s until the press, then at most ~0.25 s polling


def test_proxy_from_environment_is_used(standin, monkeypatch):
    seen = []

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.path)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
            answer = httpx.post(self.path, content=body, headers=headers, trust_env=False)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        assert inpaint(make_client(standin)).data[:2] == b"\xff\xd8"
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert len(seen) == 1 and seen[0].startswith(standin.endpoint)
    assert standin.count() == 1


def test_no_secret_in_logs_or_errors(standin, caplog):
    ak, sk, token = "AKLTleakEXAMPLEcheck4242", "sk-leak-EXAMPLE-zz", "tok-leak-EXAMPLE-yy"
    caplog.set_level(logging.DEBUG)
    texts = []
    for fault in [None, Fault("error", code=50429, times=9), Fault("reset"), Fault("gateway", code="AccessDenied")]:
        standin.clear()
        if fault:
            standin.inject(fault)
        good = Credentials(STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, token, "test")
        for cred in (good, Credentials(ak, sk, token, "test")):
            try:
                inpaint(make_client(standin, credentials=cred, max_rate_limit_retries=1))
            except errors.VolcError as exc:
                texts += [str(exc), repr(exc), exc.hint]
    blob = caplog.text + "\n".join(texts) + repr(standin.requests)
    for secret in (ak, sk, token, STANDIN_SECRET_KEY):
        assert secret not in blob
    assert "4242" in "\n".join(texts)  # the unknown key is still identifiable by its hint


def test_signature_hint_names_where_the_key_pair_came_from(standin):
    bad = Credentials(STANDIN_ACCESS_KEY, "not-the-secret", None, "ComfyUI settings")
    with pytest.raises(errors.GatewayAuthError) as info:
        inpaint(make_client(standin, credentials=bad))
    assert info.value.headline == ("The secret key does not match access key …0000: "
                                   "fix the secret key in Settings > Volcengine.")
