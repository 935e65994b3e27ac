"""The stand-in's faults, return_url, recording without secrets, parallel serving, lifecycle and the CLI."""
from __future__ import annotations

from standin_helpers import *  # noqa: F401,F403  (helpers, fixtures and the modules they use)
from standin_helpers import _with, _without  # noqa: F401


# --- faults --------------------------------------------------------------------------------------------------------

def timed(sb, payload=None, action=INPAINT):
    started = time.monotonic()
    response = post(sb, payload or body(), action)
    return response, time.monotonic() - started


def test_latency_fault_delays_each_application_then_answers_normally(sb):
    sb.inject(Fault("latency", seconds=0.3, times=2))
    for _ in range(2):
        response, took = timed(sb)
        assert response.json()["code"] == 10000 and took >= 0.3
    response, took = timed(sb)
    assert response.json()["code"] == 10000 and took < 0.25 and sb.pending_faults() == 0


@pytest.mark.parametrize("code,status", [(50429, 429), (50430, 429), (50500, 500), (50501, 500), (50411, 400),
                                         (50511, 400), (50400, 400), (50200, 400)])
def test_error_fault_uses_the_status_table(sb, code, status):
    sb.inject(Fault("error", code=code))
    assert_service_error(post(sb, body()), code, status)
    assert sb.requests[-1].code == code and sb.pending_faults() == 0


def test_fault_times_and_fifo_order(sb):
    sb.inject(Fault("error", code=50429, times=2), Fault("error", code=50500))
    assert sb.pending_faults() == 3
    codes = [post(sb, body()).json()["code"] for _ in range(4)]
    assert codes == [50429, 50429, 50500, 10000] and sb.pending_faults() == 0


def test_fault_with_action_only_matches_that_req_key(sb):
    sb.inject(Fault("error", code=50500, action="saliency_seg"))
    assert post(sb, body()).json()["code"] == 10000 and sb.pending_faults() == 1
    scene, _ = subject_scene()
    assert post(sb, saliency_body(encode(scene), only_mask=1), CV).json()["code"] == 50500
    assert sb.pending_faults() == 0


def test_validation_and_auth_failures_do_not_consume_faults_but_reset_comes_first(sb):
    sb.inject(Fault("error", code=50430))
    assert post(sb, _without("req_key")).json()["code"] == 50201
    assert post(sb, body(), sk="wrong").status_code == 401
    assert CLIENT.get(f"{sb.endpoint}/results/nothing.jpg").status_code == 404
    assert sb.pending_faults() == 1
    assert post(sb, body()).json()["code"] == 50430
    sb.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(sb, b"not even json")  # reset applies before validation
    assert sb.pending_faults() == 0


@pytest.mark.parametrize("shape", ["code", "algorithm", "message"])
def test_ghost_face_shapes(sb, shape):
    sb.inject(Fault("ghost_face", shape=shape))
    response = post(sb, body())
    answer = response.json()
    if shape == "code":
        assert response.status_code == 400 and answer["code"] == 201304 and answer["message"]
    elif shape == "algorithm":
        assert response.status_code == 500 and answer["code"] == 50501
        assert answer["data"]["algorithm_base_resp"]["status_code"] == 201304
    else:
        assert response.status_code == 500 and answer["code"] == 50500 and "201304" in answer["message"]
    assert post(sb, body()).json()["code"] == 10000


@pytest.mark.parametrize("code,code_n,status", [("AccessDenied", 100013, 403), ("LackPolicy", 100012, 403),
                                                ("SignatureDoesNotMatch", 100010, 401),
                                                ("ServiceNotFound", 100007, 404), ("InvalidTimestamp", 100006, 400),
                                                ("MissingParameter", 100002, 400)])
def test_gateway_fault(sb, code, code_n, status):
    sb.inject(Fault("gateway", code=code))
    assert_gateway(post(sb, body()), code, code_n, status)
    assert sb.requests[-1].code == code and sb.count() == 1


def test_reset_fault_closes_without_answer(sb):
    sb.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(sb, body())
    (seen,) = sb.requests
    assert seen.http_status is None and seen.code is None and seen.body_size > 0
    assert post(sb, body()).json()["code"] == 10000


def test_reset_is_a_tcp_reset_not_a_clean_close(sb):
    sb.inject(Fault("reset"))
    url = f"{sb.endpoint}/?Action=Img2ImgInpainting&Version=2022-08-31"
    raw = json.dumps(body()).encode()
    headers = sign_request("POST", url, {"Content-Type": "application/json"}, raw, STANDIN_ACCESS_KEY,
                           STANDIN_SECRET_KEY)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST {url[len(sb.endpoint):]} HTTP/1.1\r\n{head}Content-Length: {len(raw)}\r\n\r\n"
    address = urlsplit(sb.endpoint)
    with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
        conn.sendall(request.encode() + raw)
        with pytest.raises(ConnectionResetError):  # a clean close would return b"" instead
            while conn.recv(65536):
                pass


def test_truncated_json_fault(sb):
    sb.inject(Fault("truncated_json"))
    response = post(sb, body())
    assert response.status_code == 200 and response.text.startswith('{"code":10000')
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_bad_base64_fault(sb):
    sb.inject(Fault("bad_base64"))
    response = post(sb, body())
    text = response.json()["data"]["binary_data_base64"][0]
    assert response.status_code == 200
    for strict in (True, False):
        with pytest.raises(ValueError):
            base64.b64decode(text, validate=strict)


def test_wrong_size_fault(sb):
    sb.inject(Fault("wrong_size"))
    assert result_image(post(sb, body())).size == (64, 48)


def test_expired_url_fault_gives_only_a_dead_url(sb):
    sb.inject(Fault("expired_url"))
    data = post(sb, body()).json()["data"]
    assert data["binary_data_base64"] == [] and data["image_urls"][0].startswith(sb.endpoint + "/results/")
    assert CLIENT.get(data["image_urls"][0]).status_code == 404


def test_empty_mask_fault_only_applies_to_saliency(sb):
    sb.inject(Fault("empty_mask"))
    assert post(sb, body()).json()["code"] == 10000 and sb.pending_faults() == 1
    scene, _ = subject_scene()
    mask = np.asarray(result_image(post(sb, saliency_body(encode(scene), only_mask=1), CV)))
    assert mask.shape == (192, 256) and not mask.any()


def test_invalid_faults_are_refused():
    for kwargs in (dict(kind="explode"), dict(kind="error", times=0), dict(kind="gateway", code="Nope"),
                   dict(kind="ghost_face", shape="face"), dict(kind="error", code="50429")):
        with pytest.raises(ValueError):
            Fault(**kwargs)


# --- return_url, records, STS --------------------------------------------------------------------------------------

def test_return_url_serves_the_same_jpeg_unsigned(sb):
    data = post(sb, body(return_url=True)).json()["data"]
    url = data["image_urls"][0]
    assert re.fullmatch(re.escape(sb.endpoint) + r"/results/[0-9a-f]+\.jpg", url)
    download = CLIENT.get(url)
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    assert download.content == base64.b64decode(data["binary_data_base64"][0])
    assert sb.count() == 1 and sb.downloads == [(url[len(sb.endpoint):], 200)]
    other = CLIENT.get(f"{sb.endpoint}/?Action=Img2ImgInpainting&Version=2022-08-31")
    assert other.status_code == 404 and other.json()["ResponseMetadata"]["Error"]["CodeN"] == 100008


def test_records_describe_the_request_without_any_secret(sb):
    token = "sts-token-EXAMPLE-do-not-record"
    ok = post(sb, body(seed=3, logo_info={"add_logo": True}), token=token)
    assert ok.json()["code"] == 10000
    post(sb, body(), sk="another-secret-EXAMPLE")
    sb.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(sb, body(), token=token)
    records = sb.requests
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


def test_session_token_must_be_signed(sb):
    def add_token_after_signing(headers, raw):
        headers["X-Security-Token"] = "late-token"
        return raw

    assert_gateway(post(sb, body(), edit=add_token_after_signing), "SignatureDoesNotMatch", 100010, 401)
    assert sb.requests[0].has_session_token and not sb.requests[0].signed


def test_count_and_clear(sb):
    scene, _ = subject_scene()
    post(sb, body())
    post(sb, saliency_body(encode(scene), only_mask=1), CV)
    post(sb, b"junk")
    assert (sb.count(), sb.count("i2i_inpainting"), sb.count("saliency_seg")) == (3, 1, 1)
    sb.inject(Fault("latency", times=3))
    sb.clear()
    assert sb.count() == 0 and sb.requests == [] and sb.pending_faults() == 0


# --- concurrency and lifecycle -------------------------------------------------------------------------------------

def test_requests_are_served_in_parallel(sb):
    sb.inject(Fault("latency", seconds=0.5, times=4))
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(post(sb, body()).json()["code"])) for _ in range(4)]
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
        with StandIn() as sb:
            endpoint = sb.endpoint
            assert post(sb, b"{}").status_code == 400
        with pytest.raises(httpx.ConnectError):
            httpx.get(endpoint + "/results/x.jpg", timeout=2, trust_env=False)
        with pytest.raises(RuntimeError):
            _ = sb.endpoint
    assert time.monotonic() - started < 3


def test_stop_does_not_wait_for_a_sleeping_latency_fault():
    sb = StandIn().start()
    sb.inject(Fault("latency", seconds=10))
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_try_post(sb)))
    worker.start()
    deadline = time.monotonic() + 5
    while sb.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    sb.stop()
    worker.join(timeout=5)
    assert time.monotonic() - started < 1.5 and not worker.is_alive() and outcome


def _try_post(sb):
    try:
        return post(sb, body(), timeout=15).status_code
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
