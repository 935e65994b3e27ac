"""httpx's per-request INFO lines stay out of ComfyUI's console for our calls (and only for ours)."""
from __future__ import annotations

import logging

import asyncio

import httpx
from helpers.samples import sample_pair
from volc_pack.utils.api.client import ClientConfig, InpaintOptions, VisualClient
from volc_pack.utils.api.credentials import Credentials
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY

IMAGE, MASK = sample_pair()


def inpaint(standin):
    client = VisualClient(Credentials(STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, None, "test"),
                          ClientConfig(endpoint=standin.endpoint))
    return asyncio.run(client.inpaint(IMAGE, MASK, InpaintOptions()))


def test_our_calls_log_no_httpx_info_line_but_others_still_do(standin, caplog, monkeypatch):
    monkeypatch.delenv("VOLC_HTTP_LOG", raising=False)
    caplog.set_level(logging.INFO, logger="httpx")
    inpaint(standin)
    assert not [r for r in caplog.records if r.name == "httpx" and r.levelno == logging.INFO]
    # another package's request to another host keeps its line
    httpx.get(standin.endpoint.replace("127.0.0.1", "localhost") + "/", timeout=5)
    assert [r for r in caplog.records if r.name == "httpx" and "localhost" in r.getMessage()]


def test_volc_http_log_brings_the_lines_back(standin, caplog, monkeypatch):
    monkeypatch.setenv("VOLC_HTTP_LOG", "1")
    caplog.set_level(logging.INFO, logger="httpx")
    inpaint(standin)
    assert [r for r in caplog.records if r.name == "httpx" and "HTTP Request" in r.getMessage()]
