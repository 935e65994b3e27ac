"""Fault injection end to end: every failure the stand-in can produce, driven through the NODES (erase and subject
mask) over real HTTP. For each: the exact outcome (success after N attempts, as the JSON report says, or one clear
error: class + code + a fix sentence), how many requests the stand-in saw, that nothing waits past its bound, and
that on_item_error="return original" keeps the other items of a batch.

The node builds ClientConfig(read_timeout=timeout) only, so rate-limit backoff through the node is the real one
(1 s, 2 s, ...): bursts through the node stay at 1-2; longer bursts go through erase_batch with a fast ClientConfig.
"""
from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
import time
import types
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pytest
import torch
import volc_pack
from volc_pack.nodes import common as node_common
from volc_pack.utils import client as client_module
from volc_pack.utils import errors
from volc_pack.utils.client import ClientConfig, InpaintOptions, VisualClient
from volc_pack.utils.erase import EraseSettings, erase_batch
from volc_pack.utils.sandbox import Fault

ERASE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
SUBJECT = volc_pack.NODE_CLASS_MAPPINGS["VolcengineSubjectMask"]
DEFAULTS = {name: spec[1]["default"] for name, spec in ERASE.INPUT_TYPES()["required"].items()
            if len(spec) > 1 and "default" in spec[1]}
FAST = ClientConfig(backoff_base=0.01, backoff_cap=0.05, read_timeout=10.0)


# --- helpers -----------------------------------------------------------------------------------------------------

def photo(height: int = 96, width: int = 96, batch: int = 1, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / width, yy / height, 0.5 + 0.3 * np.sin(xx / 5.0)], -1)
    images = np.clip(base[None] + rng.normal(0, 0.04, (batch, height, width, 3)), 0, 1).astype(np.float32)
    return torch.from_numpy(images)


def box_mask(height: int, width: int, y0: int, y1: int, x0: int, x1: int, batch: int = 1) -> torch.Tensor:
    mask = torch.zeros((batch, height, width))
    mask[:, y0:y1, x0:x1] = 1.0
    return mask


IMAGE, MASK = photo(), box_mask(96, 96, 30, 60, 30, 60)
PAIR = photo(batch=2, seed=1)
PAIR_MASKS = torch.cat([box_mask(96, 96, 10, 30, 10, 30), box_mask(96, 96, 55, 85, 55, 85)])


def erase(image=IMAGE, mask=MASK, **overrides):
    """Run the erase node; returns (images, paste_mask, parsed report, seconds)."""
    started = time.monotonic()
    images, paste_mask, report = asyncio.run(ERASE().erase(image, mask, **{**DEFAULTS, **overrides}))
    return images, paste_mask, json.loads(report), time.monotonic() - started


def erase_fails(expected: type, image=IMAGE, mask=MASK, **overrides):
    """Run the erase node expecting `expected`; returns (exception, seconds)."""
    started = time.monotonic()
    with pytest.raises(expected) as info:
        asyncio.run(ERASE().erase(image, mask, **{**DEFAULTS, **overrides}))
    return info.value, time.monotonic() - started


def segment(image, **overrides):
    options = {"refine_mask": "none", "grow": 0, "timeout": 30.0, **overrides}
    started = time.monotonic()
    subject, background, report = asyncio.run(SUBJECT().segment(image, **options))
    return subject, background, json.loads(report), time.monotonic() - started


def settle(sandbox, quiet: float = 0.15, limit: float = 2.0) -> None:
    """Wait until requests abandoned by a cancelled call have reached the stand-in: one arriving after the next
    test injected its faults would consume them."""
    deadline, last = time.monotonic() + limit, -1
    while time.monotonic() < deadline:
        count = sandbox.count()
        if count == last:
            return
        last = count
        time.sleep(quiet)


def inpaint_count(sandbox) -> int:
    return sandbox.count("i2i_inpainting")


def assert_clear(exc: BaseException, cls: type, code, fix: str) -> None:
    """One clear error: the right class and code, a hint (a sentence saying what to do) that matches `fix`,
    all of it in str() on one line, and no raw response bytes or JSON."""
    assert type(exc) is cls, f"{type(exc).__name__} is not {cls.__name__}: {exc}"
    assert exc.code == code
    assert exc.hint and exc.hint.rstrip().endswith(".") and re.search(fix, exc.hint), exc.hint
    text = str(exc)
    assert exc.hint in text and exc.message in text
    if code is not None:
        assert f"code {code}" in text
    assert "\n" not in text and "Traceback" not in text and "b'" not in text and "{" not in text


def only_variant(report: list[dict], index: int = 0) -> dict:
    (variant,) = report[index]["variants"]
    return variant


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
    real = httpx.AsyncClient.post

    async def counting(self, url, *args, **kwargs):
        calls.append(str(url))
        return await real(self, url, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "post", counting)
    return calls


# --- rate limits -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code,burst", [(50429, 2), (50430, 1)])
def test_rate_limit_burst_through_the_node_succeeds_after_real_backoff(sandbox_env, code, burst):
    sandbox_env.inject(Fault("error", code=code, times=burst))
    images, paste_mask, report, seconds = erase()
    variant = only_variant(report)
    assert report[0]["status"] == "ok" and variant["status"] == "ok"
    assert variant["attempts"] == burst + 1 and variant["retries"] == [str(code)] * burst
    assert len(variant["request_ids"]) == 1 and variant["request_ids"][0]
    assert inpaint_count(sandbox_env) == burst + 1
    # The node uses the default backoff: 1 s * U(0.5, 1), then 2 s * U(0.5, 1), ...
    minimum = sum(0.5 * 2 ** n for n in range(burst))
    assert minimum <= seconds < 3 * burst + 3
    assert images.shape == (1, 96, 96, 3) and paste_mask[0][45, 45] == 1


def _erase_batch(images, masks, config=FAST, **settings):
    options = settings.pop("options", InpaintOptions())
    client = VisualClient(config=config)
    return asyncio.run(erase_batch(images.numpy(), masks.numpy(), EraseSettings(options=options, **settings),
                                   client))


def test_long_rate_limit_burst_succeeds_within_the_retry_budget(sandbox_env):
    sandbox_env.inject(Fault("error", code=50429, times=4))
    started = time.monotonic()
    out = _erase_batch(IMAGE, MASK)
    assert time.monotonic() - started < 3
    (variant,) = out.reports[0]["variants"]
    assert variant["attempts"] == 5 and variant["retries"] == ["50429"] * 4
    assert inpaint_count(sandbox_env) == 5


def test_endless_rate_limit_stops_after_max_retries_with_a_clear_error(sandbox_env):
    sandbox_env.inject(Fault("error", code=50430, times=50))
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as info:
        _erase_batch(IMAGE, MASK, config=ClientConfig(backoff_base=0.01, backoff_cap=0.05, max_rate_limit_retries=5))
    assert time.monotonic() - started < 3
    assert_clear(info.value, errors.RateLimitError, 50430, "VOLC_MAX_CONCURRENCY|quota")
    assert info.value.http_status == 429 and info.value.request_id
    assert inpaint_count(sandbox_env) == 6  # the first try and 5 retries, not one more


# --- internal errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [50500, 50501])
def test_internal_error_once_is_retried_and_the_report_says_so(sandbox_env, code):
    sandbox_env.inject(Fault("error", code=code))
    _, _, report, seconds = erase()
    variant = only_variant(report)
    assert variant["status"] == "ok" and variant["attempts"] == 2 and variant["retries"] == [str(code)]
    assert inpaint_count(sandbox_env) == 2 and seconds < 5


@pytest.mark.parametrize("code", [50500, 50501])
def test_internal_error_twice_is_raised_after_one_retry(sandbox_env, code):
    sandbox_env.inject(Fault("error", code=code, times=5))
    exc, seconds = erase_fails(errors.ServiceError)
    assert_clear(exc, errors.ServiceError, code, "(?i)try again")
    assert exc.http_status == 500 and exc.request_id
    assert inpaint_count(sandbox_env) == 2 and seconds < 5
    assert sandbox_env.pending_faults() == 3


# --- the network -------------------------------------------------------------------------------------------------

def test_connection_reset_is_one_network_error_and_not_repeated(sandbox_env):
    sandbox_env.inject(Fault("reset", times=3))
    exc, seconds = erase_fails(errors.NetworkError)
    assert_clear(exc, errors.NetworkError, None, "(?i)billed.*run again")
    assert "broke" in exc.message and sandbox_env.endpoint.split("//")[1] in exc.message
    assert sandbox_env.count() == 1 and seconds < 5
    (seen,) = sandbox_env.requests
    assert seen.http_status is None  # the stand-in really dropped the connection


def test_connect_refused_is_retried_twice_then_named(sandbox_env, monkeypatch, closed_port, post_counter):
    monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    exc, seconds = erase_fails(errors.ConnectFailedError)
    assert_clear(exc, errors.ConnectFailedError, "connect", "VOLC_VISUAL_ENDPOINT")
    assert f"127.0.0.1:{closed_port}" in exc.message and "Could not connect" in exc.message
    assert len(post_counter) == 3  # the first try and max_connect_retries = 2
    assert 1.5 <= seconds < 8  # two real backoffs (>= 0.5 s and >= 1 s), nothing more
    assert sandbox_env.count() == 0


def test_read_timeout_through_the_node_is_not_repeated(sandbox_env, fast_node_timeout):
    sandbox_env.inject(Fault("latency", seconds=4, times=2))
    exc, seconds = erase_fails(errors.RequestTimeoutError, timeout=0.5)
    assert_clear(exc, errors.RequestTimeoutError, "timeout", "(?i)billed.*timeout")
    assert "0.5 s" in exc.message
    assert 0.5 <= seconds < 2.5  # the node's timeout, not the stand-in's 4 s
    assert sandbox_env.count() == 1 and sandbox_env.pending_faults() == 1


def test_read_timeout_with_erase_batch_and_a_small_client_config(sandbox_env):
    sandbox_env.inject(Fault("latency", seconds=4))
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeoutError):
        _erase_batch(IMAGE, MASK, config=ClientConfig(read_timeout=0.3))
    assert time.monotonic() - started < 2 and sandbox_env.count() == 1


# --- broken answers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,match", [("truncated_json", "could not be read"),
                                        ("bad_base64", "not valid base64")])
def test_broken_answer_is_one_service_error_without_retry(sandbox_env, kind, match):
    sandbox_env.inject(Fault(kind, times=2))
    exc, seconds = erase_fails(errors.ServiceError)
    assert_clear(exc, errors.ServiceError, None, "(?i)(try|run) again")
    assert match in exc.message and exc.http_status == 200
    assert inpaint_count(sandbox_env) == 1 and seconds < 5


def test_wrong_size_result_of_the_same_shape_is_rescaled_and_reported(sandbox_env):
    sandbox_env.inject(Fault("wrong_size"))
    images, paste_mask, report, _ = erase()
    item = report[0]
    sent_w, sent_h = item["sent_size"]
    assert item["status"] == "ok" and item["resized_result_from"] == [sent_w // 2, sent_h // 2]
    assert images.shape == IMAGE.shape
    outside = paste_mask[0] == 0
    assert torch.equal(images[0][outside], IMAGE[0][outside])
    inside = MASK[0].bool()
    assert (images[0][inside] - IMAGE[0][inside]).abs().mean() > 0.02
    assert inpaint_count(sandbox_env) == 1


def test_expired_result_url_is_a_clear_error_after_one_download(sandbox_env):
    sandbox_env.inject(Fault("expired_url", times=2))
    exc, seconds = erase_fails(errors.ServiceError, return_url=True)
    assert_clear(exc, errors.ServiceError, None, "(?i)run again")
    assert "expired" in exc.message and exc.http_status == 404 and exc.request_id
    assert inpaint_count(sandbox_env) == 1 and seconds < 5
    (request,) = sandbox_env.requests
    assert request.params["return_url"] is True
    (download,) = sandbox_env.downloads
    assert download[0].startswith("/results/expired-") and download[1] == 404


# --- ghost faces and content review ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["code", "algorithm", "message"])
def test_ghost_face_once_succeeds_with_a_new_seed_in_any_answer_shape(sandbox_env, shape):
    sandbox_env.inject(Fault("ghost_face", shape=shape))
    _, _, report, seconds = erase(seed=40)
    variant = only_variant(report)
    assert variant["status"] == "ok" and variant["attempts"] == 2
    assert variant["retries"] == ["201304: new seed"] and variant["seeds"][0] == 40
    assert len(set(variant["seeds"])) == 2 and variant["seed"] == variant["seeds"][1]
    sent = [r.params["seed"] for r in sandbox_env.requests]
    assert sent == variant["seeds"] and inpaint_count(sandbox_env) == 2 and seconds < 5


@pytest.mark.parametrize("retries", [0, 3])
def test_ghost_face_always_raises_after_exactly_the_allowed_new_seeds(sandbox_env, retries):
    sandbox_env.inject(Fault("ghost_face", times=10))
    exc, seconds = erase_fails(errors.GhostFaceError, ghost_face_retries=retries)
    assert_clear(exc, errors.GhostFaceError, 201304, "seed")
    assert inpaint_count(sandbox_env) == retries + 1 and seconds < 5
    assert len({r.params["seed"] for r in sandbox_env.requests}) == retries + 1


def test_input_content_review_50411_is_not_retried_with_new_seeds(sandbox_env):
    sandbox_env.inject(Fault("error", code=50411, times=3))
    exc, seconds = erase_fails(errors.ContentReviewError, ghost_face_retries=2)
    assert_clear(exc, errors.ContentReviewError, 50411, "another image")
    assert exc.http_status == 400 and inpaint_count(sandbox_env) == 1 and seconds < 5


def test_result_content_review_50511_once_succeeds_with_a_new_seed(sandbox_env):
    sandbox_env.inject(Fault("error", code=50511))
    _, _, report, _ = erase(seed=7)
    variant = only_variant(report)
    assert variant["status"] == "ok" and variant["attempts"] == 2 and variant["retries"] == ["50511: new seed"]
    assert [r.params["seed"] for r in sandbox_env.requests] == [7, 8]


def test_result_content_review_50511_always_raises_after_the_new_seeds(sandbox_env):
    sandbox_env.inject(Fault("error", code=50511, times=10))
    exc, seconds = erase_fails(errors.ContentReviewError, ghost_face_retries=1)
    assert_clear(exc, errors.ContentReviewError, 50511, "seed")
    assert inpaint_count(sandbox_env) == 2 and seconds < 5


def test_result_content_review_50511_follows_on_ghost_face_after_the_retries(sandbox_env):
    sandbox_env.inject(Fault("error", code=50511))  # the first of the two variants' calls fails, with no retry left
    images, _, report, _ = erase(variants=2, ghost_face_retries=0, on_ghost_face="return original")
    statuses = sorted(v["status"] for v in report[0]["variants"])
    assert statuses == ["ok", "original"]
    kept = next(k for k, v in enumerate(report[0]["variants"]) if v["status"] == "original")
    assert torch.equal(images[kept], IMAGE[0])


# --- the gateway -------------------------------------------------------------------------------------------------

def test_wrong_secret_key_is_signature_does_not_match(sandbox_env, monkeypatch):
    monkeypatch.setenv("VOLC_SECRETKEY", "not-the-secret-of-this-key")
    exc, seconds = erase_fails(errors.GatewayAuthError)
    assert_clear(exc, errors.GatewayAuthError, "SignatureDoesNotMatch", "VOLC_SECRETKEY")
    assert exc.http_status == 401 and exc.request_id and seconds < 5
    (seen,) = sandbox_env.requests
    assert not seen.signed and seen.code == "SignatureDoesNotMatch"


def test_clock_off_by_an_hour_is_invalid_timestamp(sandbox_env, monkeypatch):
    real = client_module.sign_request

    def skewed(*args, **kwargs):
        return real(*args, now=datetime.now(timezone.utc) - timedelta(hours=1), **kwargs)

    monkeypatch.setattr(client_module, "sign_request", skewed)
    exc, _ = erase_fails(errors.GatewayAuthError)
    assert_clear(exc, errors.GatewayAuthError, "InvalidTimestamp", "clock")
    assert exc.http_status == 400 and sandbox_env.count() == 1


@pytest.mark.parametrize("code,status,fix", [("InvalidTimestamp", 400, "clock.*NTP"),
                                             ("AccessDenied", 403, "IAM"),
                                             ("LackPolicy", 403, "IAM"),
                                             ("ServiceNotFound", 404, "VOLC_VISUAL_ENDPOINT")])
def test_gateway_refusal_is_explained_and_not_retried(sandbox_env, code, status, fix):
    sandbox_env.inject(Fault("gateway", code=code, times=3))
    exc, seconds = erase_fails(errors.GatewayAuthError)
    assert_clear(exc, errors.GatewayAuthError, code, fix)
    assert exc.http_status == status and exc.request_id and seconds < 5
    assert sandbox_env.count() == 1 and sandbox_env.pending_faults() == 2


def test_gateway_refusal_of_one_variant_cancels_the_others_waits(sandbox_env):
    # The first request is refused; the other three variants sit in a 4 s latency and must be abandoned.
    sandbox_env.inject(Fault("gateway", code="AccessDenied"), Fault("latency", seconds=4, times=3))
    exc, seconds = erase_fails(errors.GatewayAuthError, variants=4)
    assert exc.code == "AccessDenied" and seconds < 3
    settle(sandbox_env)
    assert sandbox_env.count() == 4 and sandbox_env.pending_faults() == 0


# --- batches: one failing item -----------------------------------------------------------------------------------

ITEM_FAULTS = {
    # id: (faults, extra node options, error class, text in the error, its fix sentence, requests seen)
    "reset": ([Fault("reset")], {}, "NetworkError", "broke", "run again", 2),
    "truncated_json": ([Fault("truncated_json")], {}, "ServiceError", "could not be read", "Try again", 2),
    "bad_base64": ([Fault("bad_base64")], {}, "ServiceError", "base64", "Run again", 2),
    "expired_url": ([Fault("expired_url")], {"return_url": True}, "ServiceError", "expired", "Run again", 2),
    "50411": ([Fault("error", code=50411)], {}, "ContentReviewError", "code 50411", "Use another image", 2),
    "50500_twice": ([Fault("error", code=50500, times=3)], {}, "ServiceError", "code 50500", "Try again", 4),
    "access_denied": ([Fault("gateway", code="AccessDenied")], {}, "GatewayAuthError", "AccessDenied", "IAM", 2),
    "ghost_face": ([Fault("ghost_face", times=3)], {"ghost_face_retries": 1, "on_ghost_face": "return original"},
                   "GhostFaceError", "201304", "another seed", 4),
    "read_timeout": ([Fault("latency", seconds=3)], {"timeout": 0.5}, "RequestTimeoutError", "within 0.5 s",
                     "raise the timeout", 2),
}


@pytest.mark.parametrize("fault_id", sorted(ITEM_FAULTS))
def test_one_failing_item_is_reported_and_the_others_kept(sandbox_env, fast_node_timeout, fault_id):
    faults, options, error_type, text, fix, requests = ITEM_FAULTS[fault_id]
    sandbox_env.inject(*faults)
    images, paste_mask, report, seconds = erase(PAIR, PAIR_MASKS, on_item_error="return original", **options)
    assert seconds < 5
    assert sorted(item["status"] for item in report) == ["ok", "partial"]
    failed = next(i for i, item in enumerate(report) if item["status"] == "partial")
    kept = 1 - failed
    variant = only_variant(report, failed)
    assert variant["status"] == "original" and variant["error_type"] == error_type
    assert text in variant["error"] and fix in variant["error"] and "\n" not in variant["error"]
    # The failed item is its original, bit for bit, and nothing was pasted into it.
    assert torch.equal(images[failed], PAIR[failed]) and paste_mask[failed].max() == 0
    # The other item was erased inside its mask and kept outside it.
    inside = PAIR_MASKS[kept].bool()
    assert (images[kept][inside] - PAIR[kept][inside]).abs().mean() > 0.02
    outside = paste_mask[kept] == 0
    assert torch.equal(images[kept][outside], PAIR[kept][outside])
    assert only_variant(report, kept)["status"] == "ok"
    assert inpaint_count(sandbox_env) == requests


def test_one_failing_item_without_fallback_raises_its_cause(sandbox_env):
    sandbox_env.inject(Fault("error", code=50411))
    exc, seconds = erase_fails(errors.ContentReviewError, PAIR, PAIR_MASKS, on_item_error="error")
    assert exc.code == 50411 and seconds < 5
    settle(sandbox_env)
    assert 1 <= inpaint_count(sandbox_env) <= 2


def test_report_counts_every_attempt_of_a_failed_item(sandbox_env):
    sandbox_env.inject(Fault("error", code=50500, times=3))
    _, _, report, _ = erase(PAIR, PAIR_MASKS, on_item_error="return original")
    failed = next(item for item in report if item["status"] == "partial")
    variant = only_variant([failed])
    assert variant["attempts"] == 2 and variant["retries"] == ["50500"]
    assert sum(only_variant(report, i)["attempts"] for i in range(2)) == inpaint_count(sandbox_env) == 4


# --- the subject-mask node ---------------------------------------------------------------------------------------

def subject_images(batch: int = 1, height: int = 140, width: int = 160) -> torch.Tensor:
    image = torch.full((batch, height, width, 3), 0.85)
    image[:, height // 3: 2 * height // 3, width // 3: 2 * width // 3] = torch.tensor([0.8, 0.1, 0.1])
    return image


def test_subject_mask_empty_answer_in_a_batch_is_an_empty_mask_and_a_note(sandbox_env, monkeypatch):
    texts = []
    server = types.SimpleNamespace(PromptServer=types.SimpleNamespace(instance=types.SimpleNamespace(
        send_progress_text=lambda text, node_id: texts.append((text, node_id)))))
    monkeypatch.setitem(sys.modules, "server", server)
    sandbox_env.inject(Fault("empty_mask"))
    subject, background, report, seconds = asyncio.run(_segment_with_id(subject_images(batch=2)))
    assert seconds < 5
    noted = [item["index"] for item in report if "note" in item]
    assert len(noted) == 1
    empty, found = noted[0], 1 - noted[0]
    assert subject[empty].sum() == 0 and background[empty].min() == 1
    assert subject[found].sum() > 0 and "note" not in report[found]
    assert report[empty]["subject_fraction"] == 0 and report[found]["subject_fraction"] > 0.05
    assert texts == [(f"No subject found in image(s) [{empty + 1}]: empty mask.", "9")]
    assert sandbox_env.count("saliency_seg") == 2


async def _segment_with_id(image):
    started = time.monotonic()
    subject, background, report = await SUBJECT().segment(image, "none", 0, 30.0, unique_id="9")
    return subject, background, json.loads(report), time.monotonic() - started


def test_subject_mask_rate_limit_is_retried_and_counted_in_the_report(sandbox_env):
    sandbox_env.inject(Fault("error", code=50429))
    subject, _, report, seconds = segment(subject_images())
    assert report[0]["attempts"] == 2 and subject.sum() > 0
    assert sandbox_env.count("saliency_seg") == 2 and 0.5 <= seconds < 4


def test_subject_mask_wrong_size_answer_is_scaled_to_the_input(sandbox_env):
    sandbox_env.inject(Fault("wrong_size"))
    subject, background, report, _ = segment(subject_images(height=150, width=200))
    assert subject.shape == background.shape == (1, 150, 200) and report[0]["size"] == [200, 150]
    assert subject[0, 75, 100] > 0.5 and subject[0, 5, 5] < 0.5
    assert sandbox_env.count("saliency_seg") == 1


SUBJECT_ERRORS = {
    "reset": ([Fault("reset")], errors.NetworkError, None, "(?i)run again", 1),
    "truncated_json": ([Fault("truncated_json")], errors.ServiceError, None, "(?i)try again", 1),
    "bad_base64": ([Fault("bad_base64")], errors.ServiceError, None, "(?i)run again", 1),
    "50500_twice": ([Fault("error", code=50500, times=2)], errors.ServiceError, 50500, "(?i)try again", 2),
    "InvalidTimestamp": ([Fault("gateway", code="InvalidTimestamp")], errors.GatewayAuthError, "InvalidTimestamp",
                         "clock", 1),
    "LackPolicy": ([Fault("gateway", code="LackPolicy")], errors.GatewayAuthError, "LackPolicy", "IAM", 1),
}


@pytest.mark.parametrize("fault_id", sorted(SUBJECT_ERRORS))
def test_subject_mask_errors_surface_clearly(sandbox_env, fault_id):
    faults, cls, code, fix, requests = SUBJECT_ERRORS[fault_id]
    sandbox_env.inject(*faults)
    started = time.monotonic()
    with pytest.raises(cls) as info:
        segment(subject_images())
    assert_clear(info.value, cls, code, fix)
    assert sandbox_env.count() == requests and time.monotonic() - started < 5


def test_subject_mask_wrong_secret_is_named(sandbox_env, monkeypatch):
    monkeypatch.setenv("VOLC_SECRETKEY", "not-the-secret-of-this-key")
    with pytest.raises(errors.GatewayAuthError) as info:
        segment(subject_images(batch=2))
    assert_clear(info.value, errors.GatewayAuthError, "SignatureDoesNotMatch", "VOLC_SECRETKEY")
    settle(sandbox_env)
    assert 1 <= sandbox_env.count() <= 2


# --- the CLI: one failing file of several ------------------------------------------------------------------------

def _painted(path, seed):
    from PIL import Image

    rgba = np.concatenate([np.random.default_rng(seed).integers(0, 256, (96, 96, 3), dtype=np.uint8),
                           np.full((96, 96, 1), 255, np.uint8)], -1)
    rgba[30:60, 30:60, 3] = 0  # transparent = erase, like LoadImage
    Image.fromarray(rgba, "RGBA").save(path)
    return str(path)


def test_cli_keeps_the_other_files_when_one_fails_and_return_original_is_chosen(sandbox_env, tmp_path, capsys):
    import erase as cli  # scripts/ is on sys.path (conftest)

    sandbox_env.inject(Fault("error", code=50411))
    files = [_painted(tmp_path / "a.png", 1), _painted(tmp_path / "b.png", 2)]
    code = cli.main([*files, "--out", str(tmp_path / "out"), "--on-item-error", "return original"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    statuses = sorted(entry["items"][0]["status"] for entry in report)
    assert statuses == ["ok", "partial"] and inpaint_count(sandbox_env) == 2
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["a_v1.png", "b_v1.png"]
