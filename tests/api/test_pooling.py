"""Connection pooling: one pooled client per endpoint (not per timeout value) on each event loop, closed when the loop
ends, so many node runs with different timeouts neither pile up pools nor leave connections open. Counted at a
stand-in of this module's own (the shared one also serves the tests' plain HTTP client)."""
from __future__ import annotations

import asyncio
import time

import pytest
import torch

import volc_pack
from helpers.samples import sample_pair
from volc_pack.utils.api import transport
from volc_pack.utils.api.client import ClientConfig, InpaintOptions, VisualClient
from volc_pack.utils.api.credentials import Credentials
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, StandIn

IMAGE, MASK = sample_pair()
CRED = Credentials(STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, None, "test")
ERASE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
DEFAULTS = {name: spec[1]["default"] for name, spec in ERASE.INPUT_TYPES()["required"].items()
            if len(spec) > 1 and "default" in spec[1]}


@pytest.fixture
def own():
    with StandIn() as server:
        yield server


@pytest.fixture
def standin(own):
    """Overrides the shared stand-in for this module, so `standin_env` points the nodes at `own`."""
    return own


def wait_closed(server: StandIn, limit: float = 5.0) -> int:
    """Open connections once the server has seen the clients' closes (it learns of them asynchronously)."""
    deadline = time.monotonic() + limit
    while server.connections()[1] and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.connections()[1]


def test_calls_with_different_timeouts_share_one_pool_and_one_connection(own):
    async def calls():
        for timeout in (5.0, 7.5, 30.0, 120.0, 600.0):
            config = ClientConfig(endpoint=own.endpoint, read_timeout=timeout)
            await VisualClient(CRED, config).inpaint(IMAGE, MASK, InpaintOptions())
        return transport.pool_count()

    assert asyncio.run(calls()) == 1
    assert own.count() == 5 and own.connections()[0] == 1
    assert wait_closed(own) == 0  # the loop's end closed the pool


def test_each_endpoint_has_its_own_pool(own):
    with StandIn() as other:
        async def calls():
            for server in (own, other, own, other):
                await VisualClient(CRED, ClientConfig(endpoint=server.endpoint)).inpaint(IMAGE, MASK,
                                                                                        InpaintOptions())
            return transport.pool_count()

        assert asyncio.run(calls()) == 2
        assert own.connections()[0] == other.connections()[0] == 1


def _erase(timeout: float):
    image = torch.rand((1, 96, 96, 3))
    mask = torch.zeros((1, 96, 96))
    mask[:, 30:60, 30:60] = 1.0
    return ERASE().erase(image, mask, **{**DEFAULTS, "timeout": timeout})


def test_node_runs_in_one_loop_reuse_one_connection(standin_env):
    async def runs():
        for timeout in (5.0, 10.0, 60.0, 300.0):
            await _erase(timeout)
        return transport.pool_count()

    assert asyncio.run(runs()) == 1
    assert standin_env.count() == 4 and standin_env.connections()[0] == 1


def test_node_runs_each_on_a_fresh_loop_leave_no_connection_open(standin_env):
    for timeout in (5.0, 6.0, 7.0, 8.0, 9.0, 10.0):  # ComfyUI runs each prompt on a new event loop
        asyncio.run(_erase(timeout))
        assert wait_closed(standin_env) == 0
    assert standin_env.count() == 6 and standin_env.connections()[0] == 6
