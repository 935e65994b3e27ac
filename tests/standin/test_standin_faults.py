"""The stand-in's faults, return_url, recording without secrets, parallel serving, lifecycle and the CLI."""
from __future__ import annotations

import base64
import httpx
import json
import numpy as np
import pytest
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit
from volc_pack.utils.api.signing import sign_request
from volc_pack.utils.standin import Fault, STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, StandIn
from helpers.standin import (CLIENT, CV, IMAGE, INPAINT, ROOT, _without, assert_gateway, assert_service_error, body,
                             encode, post, result_image, saliency_body, subject_scene)


# --- faults --------------------------------------------------------------------------------------------------------

def timed(standin, payload=None, action=INPAINT):
    started = time.monotonic()
    response = post(standin, payload or body(), action)
    return response, time.monotonic() - started


def test_latency_fault_delays_each_application_then_answers_normally(standin):
    standin.inject(Fault("latency", seconds=0.3, times=2))
    for _ in range(2):
        response, took = timed(standin)
        assert response.json()["code"] == 10000 and took >= 0.3
    response, took = timed(standin)
    assert response.json()["code"] == 10000 and took < 0.25 and standin.pending_faults() == 0


@pytest.mark.parametrize("code,status", [(50429, 429), (50430, 429), (50500, 500), (50501, 500), (50411, 400),
                                         (50511, 400), (50400, 400), (50200, 400)])
def test_error_fault_uses_the_status_table(standin, code, status):
    standin.inject(Fault("error", code=code))
    assert_service_error(post(standin, body()), code, status)
    assert standin.requests[-1].code == code and standin.pending_faults() == 0


def test_fault_times_and_fifo_order(standin):
    standin.inject(Fault("error", code=50429, times=2), Fault("error", code=50500))
    assert standin.pending_faults() == 3
    codes = [post(standin, body()).json()["code"] for _ in range(4)]
    assert codes == [50429, 50429, 50500, 10000] and standin.pending_faults() == 0


def test_fault_with_action_only_matches_that_req_key(standin):
    standin.inject(Fault("error", code=50500, action="saliency_seg"))
    assert post(standin, body()).json()["code"] == 10000 and standin.pending_faults() == 1
    scene, _ = subject_scene()
    assert post(standin, saliency_body(encode(scene), only_mask=1), CV).json()["code"] == 50500
    assert standin.pending_faults() == 0


def test_validation_and_auth_failures_do_not_consume_faults_but_reset_comes_first(standin):
    standin.inject(Fault("error", code=50430))
    assert post(standin, _without("req_key")).json()["code"] == 50201
    assert post(standin, body(), sk="wrong").status_code == 401
    assert CLIENT.get(f"{standin.endpoint}/results/nothing.jpg").status_code == 404
    assert standin.pending_faults() == 1
    assert post(standin, body()).json()["code"] == 50430
    standin.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(standin, b"not even json")  # reset applies before validation
    assert standin.pending_faults() == 0


@pytest.mark.parametrize("shape", ["code", "algorithm", "message"])
def test_ghost_face_shapes(standin, shape):
    standin.inject(Fault("ghost_face", shape=shape))
    response = post(standin, body())
    answer = response.json()
    if shape == "code":
        assert response.status_code == 400 and answer["code"] == 201304 and answer["message"]
    elif shape == "algorithm":
        assert response.status_code == 500 and answer["code"] == 50501
        assert answer["data"]["algorithm_base_resp"]["status_code"] == 201304
    else:
        assert response.status_code == 500 and answer["code"] == 50500 and "201304" in answer["message"]
    assert post(standin, body()).json()["code"] == 10000


@pytest.mark.parametrize("code,code_n,status", [("AccessDenied", 100013, 403), ("LackPolicy", 100012, 403),
                                                ("SignatureDoesNotMatch", 100010, 401),
                                                ("ServiceNotFound", 100007, 404), ("InvalidTimestamp", 100006, 400),
                                                ("MissingParameter", 100002, 400)])
def test_gateway_fault(standin, code, code_n, status):
    standin.inject(Fault("gateway", code=code))
    assert_gateway(post(standin, body()), code, code_n, status)
    assert standin.requests[-1].code == code and standin.count() == 1


def test_reset_fault_closes_without_answer(standin):
    standin.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(standin, body())
    (seen,) = standin.requests
    assert seen.http_status is None and seen.code is None and seen.body_size > 0
    assert post(standin, body()).json()["code"] == 10000


def test_reset_is_a_tcp_reset_not_a_clean_close(standin):
    standin.inject(Fault("reset"))
    url = f"{standin.endpoint}/?Action=Img2ImgInpainting&Version=2022-08-31"
    raw = json.dumps(body()).encode()
    headers = sign_request("POST", url, {"Content-Type": "application/json"}, raw, STANDIN_ACCESS_KEY,
                           STANDIN_SECRET_KEY)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST {url[len(standin.endpoint):]} HTTP/1.1\r\n{head}Content-Length: {len(raw)}\r\n\r\n"
    address = urlsplit(standin.endpoint)
    with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
        conn.sendall(request.encode() + raw)
        with pytest.raises(ConnectionResetError):  # a clean close would return b"" instead
            while conn.recv(65536):
                pass


def test_truncated_json_fault(standin):
    standin.inject(Fault("truncated_json"))
    response = post(standin, body())
    assert response.status_code == 200 and response.text.startswith('{"code":10000')
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_bad_base64_fault(standin):
    standin.inject(Fault("bad_base64"))
    response = post(standin, body())
    text = response.json()["data"]["binary_data_base64"][0]
    assert response.status_code == 200
    for strict in (True, False):
        with pytest.raises(ValueError):
            base64.b64decode(text, validate=strict)


def test_wrong_size_fault(standin):
    standin.inject(Fault("wrong_size"))
    assert result_image(post(standin, body())).size == (64, 48)


def test_expired_url_fault_gives_only_a_dead_url(standin):
    standin.inject(Fault("expired_url"))
    data = post(standin, body()).json()["data"]
    assert data["binary_data_base64"] == [] and data["image_urls"][0].startswith(standin.endpoint + "/results/")
    assert CLIENT.get(data["image_urls"][0]).status_code == 404


def test_empty_mask_fault_only_applies_to_saliency(standin):
    standin.inject(Fault("empty_mask"))
    assert post(standin, body()).json()["code"] == 10000 and standin.pending_faults() == 1
    scene, _ = subject_scene()
    mask = np.asarray(result_image(post(standin, saliency_body(encode(scene), only_mask=1), CV)))
    assert mask.shape == (192, 256) and not mask.any()


def test_invalid_faults_are_refused():
    for kwargs in (dict(kind="explode"), dict(kind="error", times=0), dict(kind="gateway", code="Nope"),
                   dict(kind="ghost_face", shape="face"), dict(kind="error", code="50429")):
        with pytest.raises(ValueError):
            Fault(**kwargs)


# --- return_url, records, STS --------------------------------------------------------------------------------------

def test_return_url_serves_the_same_jpeg_unsigned(standin):
    data = post(standin, body(return_url=True)).json()["data"]
    url = data["image_urls"][0]
    assert re.fullmatch(re.escape(standin.endpoint) + r"/results/[0-9a-f]+\.jpg", url)
    download = CLIENT.get(url)
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    assert download.content == base64.b64decode(data["binary_data_base64"][0])
    assert standin.count() == 1 and standin.downloads == [(url[len(standin.endpoint):], 200)]
    other = CLIENT.get(f"{standin.endpoint}/?Action=Img2ImgInpainting&Version=2022-08-31")
    assert other.status_code == 404 and other.json()["ResponseMetadata"]["Error"]["CodeN"] == 100008


def test_records_describe_the_request_without_any_secret(standin):
    token = "sts-token-EXAMPLE-do-not-record"
    ok = post(standin, body(seed=3, logo_info={"add_logo": True}), token=token)
    assert ok.json()["code"] == 10000
    post(standin, body(), sk="another-secret-EXAMPLE")
    standin.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(standin, body(), token=token)
    records = standin.requests
    assert len(records) == 3 and [r.http_status for r in records] == [200, 401, None]
    first = records[0]
    assert first.has_session_token and first.signed and first.params == {
        "req_key": "i2i_inpainting", "seed": 3, "logo_info": {"add_logo": True}}
    assert [(i.format, i.width, i.height, i.mode, i.has_icc) for i in first.images] == [
        ("PNG", 128, 96, "RGB", False), ("PNG", 128, 96, "L", False)]
    assert first.images[0].byte_size == len(IMAGE) and first.body_size > len(IMAGE)
    assert {k.lower() for k in first.headers} >= {"host", "x-date", "x-content-sha256"}
    assert not {k.lower() for k in first.headers} & {"authorization", "x-security-token"}
    text = repr(records)
    for secret in (STANDIN_SECRET_KEY, "another-secret-EXAMPLE", token, "Signature=", "HMAC-SHA256"):
        assert secret not in text


def test_session_token_must_be_signed(standin):
    def add_token_after_signing(headers, raw):
        headers["X-Security-Token"] = "late-token"
        return raw

    assert_gateway(post(standin, body(), edit=add_token_after_signing), "SignatureDoesNotMatch", 100010, 401)
    assert standin.requests[0].has_session_token and not standin.requests[0].signed


def test_count_and_clear(standin):
    scene, _ = subject_scene()
    post(standin, body())
    post(standin, saliency_body(encode(scene), only_mask=1), CV)
    post(standin, b"junk")
    assert (standin.count(), standin.count("i2i_inpainting"), standin.count("saliency_seg")) == (3, 1, 1)
    standin.inject(Fault("latency", times=3))
    standin.clear()
    assert standin.count() == 0 and standin.requests == [] and standin.pending_faults() == 0


# --- concurrency and lifecycle -------------------------------------------------------------------------------------

def test_requests_are_served_in_parallel(standin):
    standin.inject(Fault("latency", seconds=0.5, times=4))
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(post(standin, body()).json()["code"])) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [10000] * 4 and time.monotonic() - started < 1.5  # serially it would take 2 s


def test_only_loopback_hosts_are_allowed():
    for host in ("0.0.0.0", "192.168.1.20", "example.com", ""):
        with pytest.raises(ValueError):
            StandIn(host=host)


def test_start_and_stop_are_quick_and_release_the_port():
    started = time.monotonic()
    for _ in range(5):
        with StandIn() as standin:
            endpoint = standin.endpoint
            assert post(standin, b"{}").status_code == 400
        with pytest.raises(httpx.ConnectError):
            httpx.get(endpoint + "/results/x.jpg", timeout=2, trust_env=False)
        with pytest.raises(RuntimeError):
            _ = standin.endpoint
    assert time.monotonic() - started < 3


def test_stop_does_not_wait_for_a_sleeping_latency_fault():
    standin = StandIn().start()
    standin.inject(Fault("latency", seconds=10))
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_try_post(standin)))
    worker.start()
    deadline = time.monotonic() + 5
    while standin.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    standin.stop()
    worker.join(timeout=5)
    assert time.monotonic() - started < 1.5 and not worker.is_alive() and outcome


def _try_post(standin):
    try:
        return post(standin, body(), timeout=15).status_code
    except httpx.TransportError as exc:
        return type(exc).__name__


def test_cli_prints_the_export_line_and_serves():
    process = subprocess.Popen([sys.executable, "-m", "utils.standin", "--port", "0", "--fault", "error:50429"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        found = None
        deadline = time.monotonic() + 15
        while found is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                assert process.poll() is None, "the CLI exited early"
                continue
            found = re.match(r"export VOLC_VISUAL_ENDPOINT=(\S+) VOLC_ACCESSKEY=(\S+) VOLC_SECRETKEY=(\S+)$",
                             line.strip())
        assert found, "no export line printed"
        endpoint, ak, sk = found.groups()
        assert (ak, sk) == (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY)

        class Remote:  # post() only needs .endpoint
            pass

        Remote.endpoint = endpoint
        assert post(Remote, body(), ak=ak, sk=sk).status_code == 429  # the --fault was queued
        assert post(Remote, body(), ak=ak, sk=sk).json()["code"] == 10000
    finally:
        process.terminate()
        process.wait(timeout=5)
