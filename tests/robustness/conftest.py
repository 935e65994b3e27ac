"""Fixtures of the fault-injection and secret-leak tests."""
from __future__ import annotations

import logging
import socket

import httpx
import pytest
from volc_pack.nodes import common as node_common
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY

from helpers.secrets import LOGGERS, TOKEN, Secrets


@pytest.fixture
def fast_node_timeout(monkeypatch):
    """The timeout widget's minimum is 5 s; lower it so a read timeout through the node takes half a second."""
    monkeypatch.setattr(node_common, "TIMEOUT_MIN", 0.1)


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # bound, never listening, closed again: connections are refused


@pytest.fixture
def post_counter(monkeypatch):
    """Count the client's POST attempts, also those that never reach a server."""
    calls = []
    real = httpx.AsyncClient.send

    async def counting(self, request, *args, **kwargs):
        if request.method == "POST":
            calls.append(str(request.url))
        return await real(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", counting)
    return calls


@pytest.fixture
def all_logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


@pytest.fixture
def good_env(standin_env, monkeypatch):
    """The stand-in's key pair (accepted) with a distinctive session token."""
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    return Secrets(access_key=STANDIN_ACCESS_KEY, secret_key=STANDIN_SECRET_KEY, token=TOKEN)
