"""The settings routes over real HTTP (aiohttp's test server with the real handlers, no ComfyUI): save, status,
delete, request hygiene, and what the answers never contain (secrets, server paths)."""
from __future__ import annotations

import json
import os
import stat

import pytest

pytest.importorskip("aiohttp")
from aiohttp import web
from helpers.settings_routes import AK, SK, TOKEN
from helpers.settings_routes import serve as run
from volc_pack.utils.api import credential_routes
from volc_pack.utils.api import credential_store as store
from volc_pack.utils.api.credential_routes import CHECK_ROUTE, MAX_BODY_BYTES, ROUTE
from volc_pack.utils.standin import STANDIN_SECRET_KEY


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
        assert status == 500 and "OSError" in body["error"] and "server log" in body["error"]  # and no path
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


@pytest.mark.parametrize("path", [ROUTE, CHECK_ROUTE])
@pytest.mark.parametrize("raw", [b"[" * 50_000 + b"]" * 50_000,                # past the interpreter's recursion limit
                                 b'{"access_key": ' + b"[" * 9 + b"]" * 9 + b"}",  # just past MAX_DEPTH
                                 b"{" + b'"a":{' * 3000 + b"1" + b"}" * 3001])
def test_deeply_nested_json_is_a_400_not_a_500(tmp_path, path, raw):
    raw = raw[:MAX_BODY_BYTES]  # over the cap it would be a 413; the depth is what is tested here

    async def scenario(s, store_path):
        status, body = await s.call("POST", path, data=raw, headers={"Content-Type": "application/json"})
        assert status == 400 and "nests deeper" in body["error"]
        # strings full of brackets are not nesting
        status, body = await s.save({"access_key": AK, "secret_key": "[[[[[[[[[[{{{{{{{{{{"})
        assert status == 200, body

    run(scenario, tmp_path)


def test_nesting_depth_ignores_brackets_inside_strings():
    assert credential_routes.nesting_depth(rb'{"a": "[[[{{{\"[[[", "b": [1, {"c": []}]}') == 4  # \" stays inside
    assert credential_routes.nesting_depth(b"1") == 0


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_symlinked_credentials_folder_is_refused_for_save_delete_and_reading(tmp_path):
    served = tmp_path / "user" / "default"  # e.g. the folder ComfyUI's /userdata API serves
    served.mkdir(parents=True)
    (tmp_path / "user" / "volcengine").symlink_to(served, target_is_directory=True)
    (served / "credentials.json").write_text(json.dumps({"access_key": AK, "secret_key": SK}))
    os.chmod(served, 0o755)

    async def scenario(s, path):
        status, body = await s.save({"access_key": AK, "secret_key": SK, "session_token": TOKEN})
        assert status == 409 and "symbolic link" in body["error"] and "real folder" in body["error"]
        status, body = await s.call("DELETE")
        assert status == 409 and "symbolic link" in body["error"]
        status, body = await s.call("GET")
        assert status == 200 and body["configured"] is False and "symbolic link" in body["error"]

    run(scenario, tmp_path)
    assert json.loads((served / "credentials.json").read_text()) == {"access_key": AK, "secret_key": SK}
    assert stat.S_IMODE(os.stat(served).st_mode) == 0o755  # the link's target was not chmod'ed either
    assert sorted(p.name for p in served.iterdir()) == ["credentials.json"]


def test_status_names_no_server_path(tmp_path):
    home = tmp_path / "home"
    (home / ".volc").mkdir(parents=True)
    (home / ".volc" / "credentials").write_text(f"[default]\naccess_key_id = {AK}\nsecret_access_key = {SK}\n")

    async def scenario(s, path):
        status, body = await s.call("GET")
        assert status == 200 and body["source"] == "~/.volc/credentials" and "store_path" not in body
        (home / ".volc" / "credentials").write_text("[default]\n")
        path.parent.mkdir(parents=True)
        path.write_text("{not json")
        status, body = await s.call("GET")
        assert body["configured"] is False and body["error"].startswith("The Settings > Volcengine file could not")
        path.unlink()
        status, body = await s.call("GET")
        assert body["error"] == "~/.volc/credentials has no [default] access_key_id and secret_access_key."
        (home / ".volc" / "credentials").unlink()
        status, body = await s.call("GET")
        assert "No Volcengine credentials found" in body["error"] and "~/.volc/credentials; ~/.volc/config" in body[
            "error"]
        # the serve() helper also asserts that no answer contains tmp_path, under which home and the store live

    run(scenario, tmp_path, home=home)


# --- install() ---------------------------------------------------------------------------------------------------

def test_install_registers_the_four_routes_once(tmp_path):
    routes = web.RouteTableDef()
    path = store.default_store_path(tmp_path / "user")
    credential_routes.install(routes, path)
    credential_routes.install(routes, path)  # a second load of the pack must not register the routes twice
    registered = sorted((r.method, r.path) for r in routes)
    assert registered == [("DELETE", ROUTE), ("GET", ROUTE), ("POST", ROUTE), ("POST", CHECK_ROUTE)]
    web.Application().add_routes(routes)  # aiohttp accepts the table as ComfyUI will add it
