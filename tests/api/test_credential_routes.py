"""The settings routes over real HTTP (aiohttp's test server, no ComfyUI), and the check route against the stand-in."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import stat

import pytest

pytest.importorskip("aiohttp")
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from volc_pack.utils.api import credential_routes
from volc_pack.utils.api.credential_routes import CHECK_ROUTE, MAX_BODY_BYTES, ROUTE, cross_origin_reason
from volc_pack.utils.api import credential_store as store
from volc_pack.utils.api.client import ClientConfig
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault

AK = "AKLTEXAMPLEaccessKEY0123WXYZ"
SK = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
TOKEN = "STStoken-" + "t" * 200
SECRETS = (SK, TOKEN, STANDIN_SECRET_KEY, "wrong-secret-for-the-standin")


class Session:
    """A client for one test app; remembers every response body so tests can assert none leaks a secret."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.bodies: list[str] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.client.server.port}"

    async def call(self, method: str, path: str = ROUTE, **kwargs) -> tuple[int, dict]:
        response = await self.client.request(method, path, **kwargs)
        text = await response.text()
        self.bodies.append(text)
        assert response.headers.get("Cache-Control") == "no-store"
        return response.status, json.loads(text)

    async def save(self, body, **kwargs) -> tuple[int, dict]:
        return await self.call("POST", json=body, **kwargs)


def run(scenario, tmp_path, **options):
    """Serve the routes with an isolated environment/home, run `scenario(session, path)`, check no body leaked."""
    path = store.default_store_path(tmp_path / "user")
    options.setdefault("environ", {})
    options.setdefault("home", tmp_path / "home")

    async def main():
        routes = web.RouteTableDef()
        credential_routes.register(routes, path, **options)
        app = web.Application()
        app.add_routes(routes)
        async with TestClient(TestServer(app)) as client:
            session = Session(client)
            result = await scenario(session, path)
            for body in session.bodies:
                for secret in SECRETS:
                    assert secret not in body
                assert AK not in body and AK[:-4] not in body
            return result

    return asyncio.run(main())


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- save / status / delete ------------------------------------------------------------------------------------------

def test_save_then_status_then_delete(tmp_path):
    async def scenario(s, path):
        status, body = await s.call("GET")
        assert status == 200 and body["configured"] is False and body["stored"] is False

        status, body = await s.save({"access_key": AK, "secret_key": SK, "session_token": TOKEN},
                                    headers={"Origin": s.origin, "Sec-Fetch-Site": "same-origin"})
        assert status == 200 and body["saved"] is True
        assert (body["configured"], body["source"], body["key_hint"], body["session_token"]) == (
            True, "ComfyUI settings", "…WXYZ", True)
        assert json.loads(path.read_text()) == {"access_key": AK, "secret_key": SK, "session_token": TOKEN}
        if os.name == "posix":
            assert mode(path) == 0o600 and mode(path.parent) == 0o700

        status, body = await s.call("GET", headers={"Sec-Fetch-Site": "same-origin"})
        assert status == 200 and body["key_hint"] == "…WXYZ" and body["stored"] is True

        status, body = await s.call("DELETE", headers={"Origin": s.origin})
        assert status == 200 and body["removed"] is True and body["configured"] is False
        assert not path.exists()
        status, body = await s.call("DELETE")
        assert status == 200 and body["removed"] is False

    run(scenario, tmp_path)


def test_status_reports_the_environment_and_that_it_shadows_the_stored_pair(tmp_path):
    env = {"VOLC_ACCESSKEY": "AKLTfromEXAMPLEenvironment4242", "VOLC_SECRETKEY": STANDIN_SECRET_KEY}

    async def scenario(s, path):
        await s.save({"access_key": AK, "secret_key": SK})
        _, body = await s.call("GET")
        assert (body["source"], body["key_hint"], body["stored_key_hint"], body["shadowed"]) == (
            "environment", "…4242", "…WXYZ", True)
        assert "AKLTfromTHEenvironment" not in s.bodies[-1]

    run(scenario, tmp_path, environ=env)


@pytest.mark.parametrize("body, field, words", [
    ({"access_key": "AKLT has spaces", "secret_key": SK}, "access_key", "without spaces"),
    ({"access_key": "A" * 129, "secret_key": SK}, "access_key", "at most 128"),
    ({"access_key": AK, "secret_key": ""}, "secret_key", "secret key is empty"),
    ({"access_key": AK, "secret_key": "s" * 257}, "secret_key", "at most 256"),
    ({"access_key": AK, "secret_key": SK, "session_token": "t" * 4097}, "session_token", "at most 4096"),
    ({"access_key": AK, "secret_key": SK, "extra": 1}, "extra", "Unknown field"),
    ([AK, SK], None, "JSON object"),
])
def test_save_rejects_bad_shapes_with_a_message_and_writes_nothing(tmp_path, body, field, words):
    async def scenario(s, path):
        status, answer = await s.save(body)
        assert status == 400 and answer["ok"] is False and words in answer["error"]
        assert answer.get("field") == (field or None)
        assert not path.exists()

    run(scenario, tmp_path)


def test_a_rejected_save_keeps_the_previous_pair(tmp_path):
    async def scenario(s, path):
        assert (await s.save({"access_key": AK, "secret_key": SK}))[0] == 200
        before = path.read_bytes()
        assert (await s.save({"access_key": AK, "secret_key": "bad secret"}))[0] == 400
        assert path.read_bytes() == before

    run(scenario, tmp_path)


def test_a_failed_write_answers_500_and_keeps_the_previous_pair(tmp_path, monkeypatch):
    async def scenario(s, path):
        assert (await s.save({"access_key": AK, "secret_key": SK}))[0] == 200
        before = path.read_bytes()

        def fail(*args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(store.os, "replace", fail)
        status, body = await s.save({"access_key": "AKLTanotherKEY1111", "secret_key": "another"})
        monkeypatch.undo()
        assert status == 500 and "OSError" in body["error"]
        assert path.read_bytes() == before
        assert sorted(p.name for p in path.parent.iterdir()) == ["credentials.json"]

    run(scenario, tmp_path)


# --- request hygiene: content type, size, origin ------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_save_refuses_non_json_content_types(tmp_path, content_type):
    async def scenario(s, path):
        status, body = await s.call("POST", data=json.dumps({"access_key": AK, "secret_key": SK}),
                                    headers={"Content-Type": content_type})
        assert status == 415 and "application/json" in body["error"]
        assert not path.exists()

    run(scenario, tmp_path)


def test_save_refuses_invalid_json(tmp_path):
    async def scenario(s, path):
        status, body = await s.call("POST", data=b"{'access_key': nope", headers={"Content-Type": "application/json"})
        assert status == 400 and body["error"] == "The body is not valid JSON."

    run(scenario, tmp_path)


def test_bodies_over_the_size_cap_are_refused_with_or_without_content_length(tmp_path):
    big = json.dumps({"access_key": AK, "secret_key": SK, "session_token": "t" * MAX_BODY_BYTES}).encode()

    async def chunked():
        for start in range(0, len(big), 1000):
            yield big[start:start + 1000]

    async def scenario(s, path):
        status, body = await s.call("POST", data=big, headers={"Content-Type": "application/json"})
        assert status == 413 and "16 KB" in body["error"]
        status, body = await s.call("POST", data=chunked(), headers={"Content-Type": "application/json"})
        assert status == 413
        assert not path.exists()
        # just under the cap is parsed (and then refused for its shape, not its size)
        small = json.dumps({"access_key": AK, "secret_key": SK, "session_token": "t" * 5000})
        status, body = await s.call("POST", data=small, headers={"Content-Type": "application/json"})
        assert status == 400 and body["field"] == "session_token"

    run(scenario, tmp_path)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://127.0.0.1:1"},            # same host, another port: another origin
    {"Origin": "null"},
    {"Origin": "file://"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "SAME", "Sec-Fetch-Site": "cross-site"},
])
def test_cross_origin_requests_are_refused_and_change_nothing(tmp_path, method, headers):
    async def scenario(s, path):
        store.save(path, store.validate({"access_key": AK, "secret_key": SK}))
        before = path.read_bytes()
        sent = {k: (s.origin if v == "SAME" else v) for k, v in headers.items()}
        kwargs = {"json": {"access_key": "AKLTattackerKEY666", "secret_key": "attacker"}} if method == "POST" else {}
        status, body = await s.call(method, headers=sent, **kwargs)
        assert status == 403 and "Cross-origin" in body["error"]
        assert "configured" not in body and "key_hint" not in body
        assert path.read_bytes() == before
        status, _ = await s.call("POST", CHECK_ROUTE, json={}, headers=sent)
        assert status == 403

    run(scenario, tmp_path)


def test_same_origin_passes_including_behind_a_proxy_that_sets_x_forwarded_host(tmp_path):
    async def scenario(s, path):
        for headers in ({"Origin": s.origin}, {"Origin": s.origin.upper().replace("HTTP", "http")},
                        {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
                        {"Origin": "https://comfy.example.org", "X-Forwarded-Host": "comfy.example.org"},
                        {"Origin": "https://comfy.example.org:8443", "Host": "comfy.example.org:8443"}):
            status, _ = await s.call("GET", headers=headers)
            assert status == 200, headers

    run(scenario, tmp_path)


def test_cross_origin_reason_port_defaults():
    assert cross_origin_reason({"Host": "example.org", "Origin": "https://example.org:443"}) is None
    assert cross_origin_reason({"Host": "example.org:80", "Origin": "http://example.org"}) is None
    assert cross_origin_reason({"Host": "example.org", "Origin": "https://example.org:8443"}) is not None
    assert cross_origin_reason({"Host": "[::1]:8188", "Origin": "http://[::1]:8188"}) is None
    assert cross_origin_reason({"Host": "localhost:8188", "Origin": "http://127.0.0.1:8188"}) is not None
    assert cross_origin_reason({"Host": "a:8188", "Origin": "http://a:notaport"}) is not None
    assert cross_origin_reason({}) is None  # curl or a script on the machine: not a browser abused by a site


# --- the check route, against the stand-in over real HTTP ----------------------------------------------------------

def check(tmp_path, pair, *, faults=(), endpoint=None, environ=None):
    """Store `pair` through the route (unless None), call the check route, return its answer."""

    async def scenario(s, path):
        if pair is not None:
            status, _ = await s.save({"access_key": pair[0], "secret_key": pair[1]})
            assert status == 200
        status, body = await s.call("POST", CHECK_ROUTE, json={}, headers={"Origin": s.origin})
        assert status == 200 and body["ok"] is True
        return body

    options = {"client_config": lambda: ClientConfig(endpoint=endpoint, max_connect_retries=0,
                                                     max_rate_limit_retries=0, connect_timeout=2, read_timeout=10)}
    if environ is not None:
        options["environ"] = environ
    return run(scenario, tmp_path, **options)


def test_check_works_with_the_stored_pair(tmp_path, standin):
    body = check(tmp_path, (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY), endpoint=standin.endpoint)
    assert body["outcome"] == "ok" and body["source"] == "ComfyUI settings"
    assert body["key_hint"] == "…" + STANDIN_ACCESS_KEY[-4:] and body["request_id"]
    [request] = standin.requests
    assert request.signed and request.req_key == "saliency_seg" and request.images[0].width == 128


def test_check_uses_the_environment_first(tmp_path, standin):
    env = {"VOLC_ACCESSKEY": STANDIN_ACCESS_KEY, "VOLC_SECRETKEY": STANDIN_SECRET_KEY}
    body = check(tmp_path, (AK, SK), endpoint=standin.endpoint, environ=env)
    assert body["outcome"] == "ok" and body["source"] == "environment"


def test_check_unknown_access_key(tmp_path, standin):
    body = check(tmp_path, (AK, SK), endpoint=standin.endpoint)
    assert body["outcome"] == "key_not_found" and "does not know this access key" in body["message"]
    assert "WXYZ" in body["message"]


def test_check_wrong_secret(tmp_path, standin):
    body = check(tmp_path, (STANDIN_ACCESS_KEY, "wrong-secret-for-the-standin"), endpoint=standin.endpoint)
    assert body["outcome"] == "signature_wrong" and "secret key does not belong" in body["message"]


@pytest.mark.parametrize("fault", [Fault("gateway", code="AccessDenied"), Fault("gateway", code="LackPolicy"),
                                   Fault("error", code=50400)])
def test_check_no_permission(tmp_path, standin, fault):
    standin.inject(fault)
    body = check(tmp_path, (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY), endpoint=standin.endpoint)
    assert body["outcome"] == "no_permission" and "lacks permission" in body["message"]
    assert str(fault.code) in body["message"]


def test_check_network_failure(tmp_path):
    import socket

    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    body = check(tmp_path, (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY), endpoint=f"http://127.0.0.1:{port}")
    assert body["outcome"] == "network" and "Could not connect" in body["message"]


def test_check_other_errors_carry_the_errors_sentence(tmp_path, standin):
    standin.inject(Fault("gateway", code="InvalidTimestamp"))
    body = check(tmp_path, (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY), endpoint=standin.endpoint)
    assert body["outcome"] == "other" and "clock" in body["message"]


def test_check_without_credentials(tmp_path, standin):
    body = check(tmp_path, None, endpoint=standin.endpoint)
    assert body["outcome"] == "not_configured" and "No Volcengine credentials found" in body["message"]
    assert standin.requests == []


def test_check_refuses_arguments_and_non_json(tmp_path):
    async def scenario(s, path):
        status, body = await s.call("POST", CHECK_ROUTE, json={"access_key": AK, "secret_key": SK})
        assert status == 400 and "no arguments" in body["error"]
        status, _ = await s.call("POST", CHECK_ROUTE, data=b"", headers={"Content-Type": "text/plain"})
        assert status == 415

    run(scenario, tmp_path)


def test_nothing_secret_reaches_the_log(tmp_path, standin, caplog):
    caplog.set_level(logging.DEBUG)
    check(tmp_path / "a", (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY), endpoint=standin.endpoint)
    check(tmp_path / "b", (STANDIN_ACCESS_KEY, "wrong-secret-for-the-standin"), endpoint=standin.endpoint)

    async def scenario(s, path):
        await s.save({"access_key": AK, "secret_key": SK, "session_token": TOKEN})
        await s.save({"access_key": AK, "secret_key": SK}, headers={"Origin": "http://evil.example"})
        await s.call("GET")
        await s.call("DELETE")

    run(scenario, tmp_path / "c")
    assert "Volcengine credentials check: ok" in caplog.text and "refused a cross-origin" in caplog.text
    for secret in (*SECRETS, AK, STANDIN_ACCESS_KEY):
        assert secret not in caplog.text


# --- install() ---------------------------------------------------------------------------------------------------

def test_install_registers_the_four_routes_once(tmp_path):
    routes = web.RouteTableDef()
    path = store.default_store_path(tmp_path / "user")
    credential_routes.install(routes, path)
    credential_routes.install(routes, path)  # a second load of the pack must not register the routes twice
    registered = sorted((r.method, r.path) for r in routes)
    assert registered == [("DELETE", ROUTE), ("GET", ROUTE), ("POST", ROUTE), ("POST", CHECK_ROUTE)]
    web.Application().add_routes(routes)  # aiohttp accepts the table as ComfyUI will add it
