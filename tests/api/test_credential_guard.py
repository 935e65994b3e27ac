"""Who may use the settings routes, over real HTTP: cross-site pages and DNS-rebinding pages are refused on every
route and change nothing; this machine's names, ComfyUI's --listen address and names the user allowed pass."""
from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("aiohttp")
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from helpers.settings_routes import AK, EVERY_ROUTE, SK
from helpers.settings_routes import serve as run
from volc_pack.utils.api import credential_routes
from volc_pack.utils.api import credential_store as store
from volc_pack.utils.api.client import ClientConfig
from volc_pack.utils.api.credential_routes import ROUTE
from volc_pack.utils.api.request_guard import ENV_ALLOWED_HOSTS, HostPolicy, cross_origin_reason
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY

STANDIN_ENV = {"VOLC_ACCESSKEY": STANDIN_ACCESS_KEY, "VOLC_SECRETKEY": STANDIN_SECRET_KEY}


def refused_everywhere(tmp_path, standin, headers_for, words, **options):
    """Every route, with the headers `headers_for(session)` gives: 403 naming `words`, the stored pair unchanged,
    no call made to the service. The environment holds a working pair, so a check that got through would call."""
    options = {"environ": STANDIN_ENV, **options,
               "client_config": lambda: ClientConfig(endpoint=standin.endpoint, max_connect_retries=0)}

    async def scenario(s, path):
        store.save(path, store.validate({"access_key": AK, "secret_key": SK}))
        before = path.read_bytes()
        for method, route, body in EVERY_ROUTE:
            kwargs = {"json": body} if body is not None else {}
            status, answer = await s.call(method, route, headers=headers_for(s), **kwargs)
            assert status == 403 and words in answer["error"], (method, route, answer)
            assert "configured" not in answer and "key_hint" not in answer and "outcome" not in answer
            assert path.read_bytes() == before
        assert standin.requests == []

    run(scenario, tmp_path, **options)


# --- DNS rebinding: the browser thinks the page and ComfyUI are one origin, evil.example:8188 ---------------------

@pytest.mark.parametrize("extra", [{}, {"Sec-Fetch-Site": "same-origin"}])
def test_a_rebinding_page_is_refused_on_every_route(tmp_path, standin, extra):
    def headers(s):
        return {"Host": "evil.example:8188", "Origin": "http://evil.example:8188", **extra}

    refused_everywhere(tmp_path, standin, headers, "names another host")


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example"},                                  # curl-like, no Origin at all
    {"Host": "localhost.evil.example:8188"},
    {"Host": "127.0.0.1.nip.io:8188", "Origin": "http://127.0.0.1.nip.io:8188"},  # resolves to loopback: still a name
    {"Host": "192.168.1.5:8188", "Origin": "http://192.168.1.5:8188"},  # not the --listen address (127.0.0.1 here)
    {"X-Forwarded-Host": "evil.example:8188", "Origin": "http://evil.example:8188"},  # behind a proxy
    {"Host": "user@127.0.0.1:8188"},
])
def test_other_names_are_refused_too(tmp_path, standin, headers):
    refused_everywhere(tmp_path, standin, lambda s: headers, "names another host")


def test_the_refusal_says_how_to_allow_a_name(tmp_path):
    async def scenario(s, path):
        status, body = await s.call("GET", headers={"Host": "comfy.example.org"})
        assert status == 403 and ENV_ALLOWED_HOSTS in body["error"]
        return True

    assert run(scenario, tmp_path)


def test_names_the_user_allowed_pass_with_their_port(tmp_path):
    allowed = {ENV_ALLOWED_HOSTS: "comfy.example.org, lab-box:8443 [fd00::5]"}

    async def scenario(s, path):
        for host, wanted in [("comfy.example.org", 200), ("COMFY.example.org.:9000", 200), ("lab-box:8443", 200),
                             ("lab-box:8188", 403), ("[fd00::5]:8188", 200), ("example.org", 403),
                             ("comfy.example.org.evil.example", 403)]:
            status, _ = await s.call("GET", headers={"Host": host})
            assert status == wanted, host
        # a proxy that keeps Host as 127.0.0.1 and says the public name in X-Forwarded-Host
        status, _ = await s.call("GET", headers={"Origin": "https://comfy.example.org",
                                                 "X-Forwarded-Host": "comfy.example.org"})
        assert status == 200

    hosts = HostPolicy.from_settings(None, allowed)
    run(scenario, tmp_path, hosts=hosts)


# --- cross-site pages ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://127.0.0.1:1"},            # same host, another port: another origin
    {"Origin": "null"},
    {"Origin": "file://"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "SAME", "Sec-Fetch-Site": "cross-site"},
])
def test_cross_origin_requests_are_refused_on_every_route(tmp_path, standin, headers):
    def sent(s):
        return {k: (s.origin if v == "SAME" else v) for k, v in headers.items()}

    refused_everywhere(tmp_path, standin, sent, "Cross-origin")


def test_same_origin_passes(tmp_path):
    async def scenario(s, path):
        for headers in ({"Origin": s.origin}, {"Origin": s.origin.upper().replace("HTTP", "http")},
                        {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
                        {"Origin": "http://localhost:8188", "Host": "localhost:8188"},
                        {"Origin": "http://[::1]:8188", "Host": "[::1]:8188"}):
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


# --- which Host names are this machine -----------------------------------------------------------------------------

@pytest.mark.parametrize("listen, host, accepted", [
    (None, "127.0.0.1:8188", True), (None, "127.3.4.5", True), (None, "localhost:8188", True),
    (None, "LOCALHOST.", True), (None, "[::1]:8188", True), (None, "[::ffff:127.0.0.1]:8188", True),
    (None, "0.0.0.0:8188", False), (None, "evil.example:8188", False), (None, "", False), (None, "a b", False),
    ("192.168.1.5", "192.168.1.5:8188", True), ("192.168.1.5", "10.0.0.3:8188", False),
    ("192.168.1.5", "evil.example", False),
    ("0.0.0.0,::", "10.0.0.3:8188", True), ("0.0.0.0,::", "[fd00::1]:8188", True),  # every interface: any address
    ("0.0.0.0,::", "evil.example:8188", False),  # but never a name
    ("comfy-box", "comfy-box:8188", True),  # a name given to --listen is the user's choice
])
def test_host_policy(listen, host, accepted):
    policy = HostPolicy.from_settings(listen, {})
    assert (policy.refusal({"Host": host}) is None) is accepted


def test_install_reads_the_listen_address_and_the_allowed_names(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_ALLOWED_HOSTS, "comfy.example.org")
    routes = web.RouteTableDef()
    credential_routes.install(routes, store.default_store_path(tmp_path / "user"), listen="192.168.1.5",
                              environ={}, home=tmp_path / "home")

    async def main():
        app = web.Application()
        app.add_routes(routes)
        async with TestClient(TestServer(app)) as client:
            statuses = []
            for host in ("192.168.1.5:8188", "comfy.example.org", "127.0.0.1", "10.0.0.3", "evil.example"):
                response = await client.get(ROUTE, headers={"Host": host})
                statuses.append(response.status)
            return statuses

    assert asyncio.run(main()) == [200, 200, 200, 403, 403]
