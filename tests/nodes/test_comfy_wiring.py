"""Loading the pack inside a (faked) ComfyUI: the root __init__ installs the settings routes, a failure there costs one
log line and never the nodes, and the nodes read the key pair from the same file the routes write."""
from __future__ import annotations

import logging
import sys
import types

import pytest

pytest.importorskip("aiohttp")
from aiohttp import web
from pack_loader import load_pack
from volc_pack.nodes.common import make_client
from volc_pack.utils.api import credential_store as store
from volc_pack.utils.api.credential_routes import CHECK_ROUTE, ROUTE

AK, SK = "AKLTEXAMPLEaccessKEY0123WXYZ", "c2VjcmV0LXNlY3JldC1zZWNyZXQ"


class BrokenRoutes(list):
    """A route table whose registration fails, as a future ComfyUI with another server API might."""

    def get(self, path):
        raise RuntimeError("route registration is not supported")


@pytest.fixture
def fake_comfy(tmp_path, monkeypatch):
    """`server` and `folder_paths` modules as ComfyUI provides them; returns the PromptServer instance."""
    server = types.ModuleType("server")
    hooks: list = []
    instance = types.SimpleNamespace(routes=web.RouteTableDef(), on_prompt=hooks, add_on_prompt_handler=hooks.append)
    server.PromptServer = type("PromptServer", (), {"instance": instance})
    paths = types.ModuleType("folder_paths")
    paths.get_user_directory = lambda: str(tmp_path / "user")
    monkeypatch.setitem(sys.modules, "server", server)
    monkeypatch.setitem(sys.modules, "folder_paths", paths)
    return server.PromptServer.instance


def load_fresh(name: str):
    """The pack loaded again under another name, so its root __init__ runs again; removed afterwards."""
    try:
        return load_pack(name)
    finally:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def test_loading_inside_comfyui_registers_the_routes_and_the_prompt_check(fake_comfy):
    pack = load_fresh("volc_pack_wiring_ok")
    assert "VolcengineInpaintErase" in pack.NODE_CLASS_MAPPINGS
    registered = sorted((r.method, r.path) for r in fake_comfy.routes)
    assert registered == [("DELETE", ROUTE), ("GET", ROUTE), ("POST", ROUTE), ("POST", CHECK_ROUTE)]
    [hook] = fake_comfy.on_prompt
    data = {"prompt": {"5": {"class_type": "VolcengineLogoInfo", "inputs": {"add_logo": "false"}}}}
    assert "add_logo is 'false'" in hook(data)["prompt"]["5"]["inputs"]["invalid_inputs"]


def test_without_the_prompt_hook_api_the_routes_still_install(fake_comfy, caplog):
    del fake_comfy.add_on_prompt_handler
    caplog.set_level(logging.DEBUG)
    load_fresh("volc_pack_wiring_no_hook")
    assert len(list(fake_comfy.routes)) == 4
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "text booleans" in record.getMessage() and "AttributeError" in record.getMessage()


def test_a_failing_route_install_logs_one_line_and_the_nodes_still_load(fake_comfy, caplog):
    fake_comfy.routes = BrokenRoutes()
    caplog.set_level(logging.DEBUG)
    pack = load_fresh("volc_pack_wiring_broken")
    assert set(pack.NODE_CLASS_MAPPINGS) == {"VolcengineInpaintErase", "VolcengineLogoInfo", "VolcengineSubjectMask",
                                             "VolcengineEntityMask"}
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.name == "volc_pack_wiring_broken"
    assert "Settings > Volcengine is unavailable" in record.getMessage()
    assert "\n" not in record.getMessage() and record.exc_info is None


def test_loading_outside_comfyui_installs_nothing(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "server", None)  # `import server` raises ImportError
    monkeypatch.setitem(sys.modules, "folder_paths", None)
    caplog.set_level(logging.DEBUG)
    pack = load_fresh("volc_pack_wiring_none")
    assert pack.NODE_CLASS_MAPPINGS and not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_nodes_read_the_pair_the_settings_page_stored(fake_comfy, tmp_path, monkeypatch):
    for name in ("VOLC_ACCESSKEY", "VOLC_SECRETKEY", "VOLC_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    store.save(store.default_store_path(tmp_path / "user"), store.validate({"access_key": AK, "secret_key": SK}))
    credentials = make_client(30).credentials
    assert (credentials.source, credentials.access_key) == ("ComfyUI settings", AK)


def test_outside_comfyui_the_nodes_do_not_look_for_a_settings_file(tmp_path, monkeypatch):
    from volc_pack.utils.api.errors import CredentialsError

    monkeypatch.setitem(sys.modules, "folder_paths", None)
    for name in ("VOLC_ACCESSKEY", "VOLC_SECRETKEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(CredentialsError) as info:
        _ = make_client(30).credentials
    assert "ComfyUI's settings" not in str(info.value)
