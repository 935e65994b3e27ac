"""The overall deadline, end to end: a stand-in trickling its answer (or the result URL's image) keeps no node, CLI run
or Settings check busy past its timeout. Each ends near the timeout with one RequestTimeoutError sentence. Lower
bounds prove the deadline was waited for; upper bounds are generous (loaded 2-core machines)."""
from __future__ import annotations

import asyncio
import time

import pytest
import torch

from helpers.faults import SUBJECT, erase_fails, photo
from volc_pack.utils.api import errors
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault

pytest.importorskip("aiohttp")
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from volc_pack.utils.api import credential_routes as settings_routes  # noqa: E402
from volc_pack.utils.api.client import ClientConfig  # noqa: E402

SLACK = 3.0  # seconds past the deadline that still count as "near it"


def test_trickled_answer_ends_the_erase_node_near_its_timeout(standin_env, fast_node_timeout):
    standin_env.inject(Fault("trickle", rate=1))
    exc, seconds = erase_fails(errors.RequestTimeoutError, timeout=1.0)
    assert str(exc).startswith("No complete answer from") and "within 1 s" in exc.message
    assert "\n" not in str(exc) and 1.0 <= seconds < 1.0 + SLACK
    assert standin_env.count() == 1  # a timed-out call may be billed: not repeated


def test_trickled_result_download_counts_against_the_same_timeout(standin_env, fast_node_timeout):
    standin_env.inject(Fault("trickle", shape="download", rate=1))
    exc, seconds = erase_fails(errors.RequestTimeoutError, timeout=1.0, return_url=True)
    assert "downloading the result" in exc.message and 1.0 <= seconds < 1.0 + SLACK
    assert standin_env.count() == 1 and len(standin_env.downloads) == 1


def test_four_trickling_variants_end_together_not_one_after_another(standin_env, fast_node_timeout):
    standin_env.inject(Fault("trickle", rate=1, times=4))
    _, seconds = erase_fails(errors.RequestTimeoutError, variants=4, timeout=1.0)
    assert 1.0 <= seconds < 1.0 + SLACK  # four calls in flight at once, each bounded by the same 1 s


def test_trickled_answer_ends_the_subject_mask_node(standin_env, fast_node_timeout):
    standin_env.inject(Fault("trickle", rate=1))
    image = torch.full((1, 140, 160, 3), 0.8)
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeoutError, match="within 1 s"):
        asyncio.run(SUBJECT().segment(image, "none", 0, 1.0))
    assert 1.0 <= time.monotonic() - started < 1.0 + SLACK


def test_trickled_answer_ends_the_cli_with_one_line(standin_env, fast_node_timeout, tmp_path, capsys):
    import erase as cli
    from PIL import Image

    picture = (photo(96, 96)[0].numpy() * 255).astype("uint8")
    rgba = Image.fromarray(picture).convert("RGBA")
    rgba.putalpha(Image.new("L", (96, 96), 255))
    rgba.paste((0, 0, 0, 0), (30, 30, 60, 60))
    rgba.save(tmp_path / "painted.png")
    standin_env.inject(Fault("trickle", rate=1))
    started = time.monotonic()
    code = cli.main([str(tmp_path / "painted.png"), "--out", str(tmp_path / "out"), "--timeout", "1"])
    seconds = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "within 1 s" in err[0] and "Traceback" not in err[0]
    assert 1.0 <= seconds < 1.0 + SLACK


def test_settings_check_ends_near_its_timeout_and_the_next_check_runs(standin, tmp_path):
    from volc_pack.utils.api import credential_store as store

    def config():
        return ClientConfig(endpoint=standin.endpoint, read_timeout=1.0, max_connect_retries=0,
                            max_rate_limit_retries=0)

    env = {"VOLC_ACCESSKEY": STANDIN_ACCESS_KEY, "VOLC_SECRETKEY": STANDIN_SECRET_KEY}

    async def scenario():
        routes = web.RouteTableDef()
        settings_routes.register(routes, store.default_store_path(tmp_path / "user"), environ=env,
                                 home=tmp_path / "home", client_config=config)
        app = web.Application()
        app.add_routes(routes)
        async with TestClient(TestServer(app)) as client:
            origin = f"http://127.0.0.1:{client.server.port}"
            answers = []
            for _ in range(2):
                started = time.monotonic()
                response = await client.post(settings_routes.CHECK_ROUTE, json={}, headers={"Origin": origin})
                answers.append((response.status, await response.json(), time.monotonic() - started))
            return answers

    # The check's probes carry no image, so the service refuses them before any result could trickle: a slow
    # answer is what keeps a check busy here, and the deadline must end it all the same.
    standin.inject(Fault("latency", seconds=8))
    (status, body, seconds), (next_status, next_body, _) = asyncio.run(scenario())
    assert status == 200 and body["outcome"] == "network" and "within 1 s" in body["message"]
    assert 1.0 <= seconds < 1.0 + SLACK
    assert next_status == 200 and next_body["outcome"] == "ok"  # the lock was released: no "already running"
