"""Load the pack exactly as ComfyUI does: a module spec from the root __init__.py, under a name of our own.

Tests then import `volc_pack.utils.<module>`; absolute `utils`/`nodes` imports would reach ComfyUI's own modules.
"""
from __future__ import annotations


from pack_loader import load_pack  # scripts/ and tests/ are on the path via pytest's `pythonpath` (pyproject.toml)

load_pack()

import pytest  # noqa: E402  (after the pack is loaded)


# --- shared fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def standin_server():
    from volc_pack.utils.standin import StandIn

    with StandIn() as server:
        yield server


@pytest.fixture
def standin(standin_server):
    """The shared stand-in endpoint, with faults and records cleared for each test."""
    standin_server.clear()
    yield standin_server
    standin_server.clear()


@pytest.fixture
def standin_env(standin, monkeypatch):
    """Point everything that reads the environment (node, CLI) at the stand-in with its key pair."""
    from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY

    monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", standin.endpoint)
    monkeypatch.setenv("VOLC_ACCESSKEY", STANDIN_ACCESS_KEY)
    monkeypatch.setenv("VOLC_SECRETKEY", STANDIN_SECRET_KEY)
    monkeypatch.delenv("VOLC_SESSION_TOKEN", raising=False)
    return standin
