"""Fault injection end to end: every failure the stand-in can produce, driven through the NODES (erase and subject
mask) over real HTTP. For each: the exact outcome (success after N attempts, as the JSON report says, or one clear
error: class + code + a fix sentence), how many requests the stand-in saw, that nothing waits past its bound, and
that on_item_error="return original" keeps the other items of a batch.

The node builds ClientConfig(read_timeout=timeout) only, so rate-limit backoff through the node is the real one
(1 s, 2 s, ...): bursts through the node stay at 1-2; longer bursts go through erase_batch with a fast ClientConfig.
"""
from __future__ import annotations

import asyncio
import pytest
import time
import torch
from volc_pack.utils.api import errors
from volc_pack.utils.api.client import ClientConfig, InpaintOptions, VisualClient
from volc_pack.utils.erase import EraseSettings, erase_batch
from volc_pack.utils.standin import Fault
from helpers.faults import FAST, IMAGE, MASK, assert_clear, erase, erase_fails, inpaint_count, only_variant


# --- rate limits -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code,burst", [(50429, 2), (50430, 1)])
def test_rate_limit_burst_through_the_node_succeeds_after_real_backoff(standin_env, code, burst):
    standin_env.inject(Fault("error", code=code, times=burst))
    images, paste_mask, report, seconds = erase()
    variant = only_variant(report)
    assert report[0]["status"] == "ok" and variant["status"] == "ok"
    assert variant["attempts"] == burst + 1 and variant["retries"] == [str(code)] * burst
    assert len(variant["request_ids"]) == 1 and variant["request_ids"][0]
    assert inpaint_count(standin_env) == burst + 1
    # The node uses the default backoff: 1 s * U(0.5, 1), then 2 s * U(0.5, 1), ...
    minimum = sum(0.5 * 2 ** n for n in range(burst))
    assert minimum <= seconds < 3 * burst + 3
    assert images.shape == (1, 96, 96, 3) and paste_mask[0][45, 45] == 1


def _erase_batch(images, masks, config=FAST, **settings):
    options = settings.pop("options", InpaintOptions())
    client = VisualClient(config=config)
    return asyncio.run(erase_batch(images.numpy(), masks.numpy(), EraseSettings(options=options, **settings),
                                   client))


def test_long_rate_limit_burst_succeeds_within_the_retry_budget(standin_env):
    standin_env.inject(Fault("error", code=50429, times=4))
    started = time.monotonic()
    out = _erase_batch(IMAGE, MASK)
    assert time.monotonic() - started < 3
    (variant,) = out.reports[0]["variants"]
    assert variant["attempts"] == 5 and variant["retries"] == ["50429"] * 4
    assert inpaint_count(standin_env) == 5


def test_endless_rate_limit_stops_after_max_retries_with_a_clear_error(standin_env):
    standin_env.inject(Fault("error", code=50430, times=50))
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as info:
        _erase_batch(IMAGE, MASK, config=ClientConfig(backoff_base=0.01, backoff_cap=0.05, max_rate_limit_retries=5))
    assert time.monotonic() - started < 3
    assert_clear(info.value, errors.RateLimitError, 50430, "VOLC_MAX_CONCURRENCY|quota")
    assert info.value.http_status == 429 and info.value.request_id
    assert inpaint_count(standin_env) == 6  # the first try and 5 retries, not one more


# --- internal errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [50500, 50501])
def test_internal_error_once_is_retried_and_the_report_says_so(standin_env, code):
    standin_env.inject(Fault("error", code=code))
    _, _, report, seconds = erase()
    variant = only_variant(report)
    assert variant["status"] == "ok" and variant["attempts"] == 2 and variant["retries"] == [str(code)]
    assert inpaint_count(standin_env) == 2 and seconds < 5


@pytest.mark.parametrize("code", [50500, 50501])
def test_internal_error_twice_is_raised_after_one_retry(standin_env, code):
    standin_env.inject(Fault("error", code=code, times=5))
    exc, seconds = erase_fails(errors.ServiceError)
    assert_clear(exc, errors.ServiceError, code, "(?i)try again")
    assert exc.http_status == 500 and exc.request_id
    assert inpaint_count(standin_env) == 2 and seconds < 5
    assert standin_env.pending_faults() == 3


# --- the network -------------------------------------------------------------------------------------------------

def test_connection_reset_is_one_network_error_and_not_repeated(standin_env):
    standin_env.inject(Fault("reset", times=3))
    exc, seconds = erase_fails(errors.NetworkError)
    assert_clear(exc, errors.NetworkError, None, "(?i)run again.*billed")
    assert "broke" in exc.message and standin_env.endpoint.split("//")[1] in exc.message
    assert standin_env.count() == 1 and seconds < 5
    (seen,) = standin_env.requests
    assert seen.http_status is None  # the stand-in really dropped the connection


def test_connect_refused_is_retried_twice_then_named(standin_env, monkeypatch, closed_port, post_counter):
    monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    exc, seconds = erase_fails(errors.ConnectFailedError)
    assert_clear(exc, errors.ConnectFailedError, "connect", "VOLC_VISUAL_ENDPOINT")
    assert f"127.0.0.1:{closed_port}" in exc.message and "Could not connect" in exc.message
    assert len(post_counter) == 3  # the first try and max_connect_retries = 2
    assert 1.5 <= seconds < 8  # two real backoffs (>= 0.5 s and >= 1 s), nothing more
    assert standin_env.count() == 0


def test_read_timeout_through_the_node_is_not_repeated(standin_env, fast_node_timeout):
    standin_env.inject(Fault("latency", seconds=4, times=2))
    exc, seconds = erase_fails(errors.RequestTimeoutError, timeout=0.5)
    assert_clear(exc, errors.RequestTimeoutError, "timeout", "(?i)timeout.*billed")
    assert "0.5 s" in exc.message
    assert 0.5 <= seconds < 2.5  # the node's timeout, not the stand-in's 4 s
    assert standin_env.count() == 1 and standin_env.pending_faults() == 1


def test_read_timeout_with_erase_batch_and_a_small_client_config(standin_env):
    standin_env.inject(Fault("latency", seconds=4))
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeoutError):
        _erase_batch(IMAGE, MASK, config=ClientConfig(read_timeout=0.3))
    assert time.monotonic() - started < 2 and standin_env.count() == 1


# --- broken answers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,match", [("truncated_json", "could not be read"),
                                        ("bad_base64", "not valid base64")])
def test_broken_answer_is_one_service_error_without_retry(standin_env, kind, match):
    standin_env.inject(Fault(kind, times=2))
    exc, seconds = erase_fails(errors.ServiceError)
    assert_clear(exc, errors.ServiceError, None, "(?i)(try|run) again")
    assert match in exc.message and exc.http_status == 200
    assert inpaint_count(standin_env) == 1 and seconds < 5


def test_wrong_size_result_of_the_same_shape_is_rescaled_and_reported(standin_env):
    standin_env.inject(Fault("wrong_size"))
    images, paste_mask, report, _ = erase()
    item = report[0]
    sent_w, sent_h = item["sent_size"]
    assert item["status"] == "ok" and item["resized_result_from"] == [sent_w // 2, sent_h // 2]
    assert images.shape == IMAGE.shape
    outside = paste_mask[0] == 0
    assert torch.equal(images[0][outside], IMAGE[0][outside])
    inside = MASK[0].bool()
    assert (images[0][inside] - IMAGE[0][inside]).abs().mean() > 0.02
    assert inpaint_count(standin_env) == 1


def test_expired_result_url_is_a_clear_error_after_one_download(standin_env):
    standin_env.inject(Fault("expired_url", times=2))
    exc, seconds = erase_fails(errors.ServiceError, return_url=True)
    assert_clear(exc, errors.ServiceError, None, "(?i)run again")
    assert "expired" in exc.message and exc.http_status == 404 and exc.request_id
    assert inpaint_count(standin_env) == 1 and seconds < 5
    (request,) = standin_env.requests
    assert request.params["return_url"] is True
    (download,) = standin_env.downloads
    assert download[0].startswith("/results/expired-") and download[1] == 404


# --- ghost faces and content review ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["code", "algorithm", "message"])
def test_ghost_face_once_succeeds_with_a_new_seed_in_any_answer_shape(standin_env, shape):
    standin_env.inject(Fault("ghost_face", shape=shape))
    _, _, report, seconds = erase(seed=40)
    variant = only_variant(report)
    assert variant["status"] == "ok" and variant["attempts"] == 2
    assert variant["retries"] == ["201304: new seed"] and variant["seeds"][0] == 40
    assert len(set(variant["seeds"])) == 2 and variant["seed"] == variant["seeds"][1]
    sent = [r.params["seed"] for r in standin_env.requests]
    assert sent == variant["seeds"] and inpaint_count(standin_env) == 2 and seconds < 5


@pytest.mark.parametrize("retries", [0, 3])
def test_ghost_face_always_raises_after_exactly_the_allowed_new_seeds(standin_env, retries):
    standin_env.inject(Fault("ghost_face", times=10))
    exc, seconds = erase_fails(errors.GhostFaceError, ghost_face_retries=retries)
    assert_clear(exc, errors.GhostFaceError, 201304, "seed")
    assert inpaint_count(standin_env) == retries + 1 and seconds < 5
    assert len({r.params["seed"] for r in standin_env.requests}) == retries + 1


def test_input_content_review_50411_is_not_retried_with_new_seeds(standin_env):
    standin_env.inject(Fault("error", code=50411, times=3))
    exc, seconds = erase_fails(errors.ContentReviewError, ghost_face_retries=2)
    assert_clear(exc, errors.ContentReviewError, 50411, "another image")
    assert exc.http_status == 400 and inpaint_count(standin_env) == 1 and seconds < 5


def test_result_content_review_50511_once_succeeds_with_a_new_seed(standin_env):
    standin_env.inject(Fault("error", code=50511))
    _, _, report, _ = erase(seed=7)
    variant = only_variant(report)
    assert variant["status"] == "ok" and variant["attempts"] == 2 and variant["retries"] == ["50511: new seed"]
    assert [r.params["seed"] for r in standin_env.requests] == [7, 8]


def test_result_content_review_50511_always_raises_after_the_new_seeds(standin_env):
    standin_env.inject(Fault("error", code=50511, times=10))
    exc, seconds = erase_fails(errors.ContentReviewError, ghost_face_retries=1)
    assert_clear(exc, errors.ContentReviewError, 50511, "seed")
    assert inpaint_count(standin_env) == 2 and seconds < 5


def test_result_content_review_50511_follows_on_ghost_face_after_the_retries(standin_env):
    standin_env.inject(Fault("error", code=50511))  # the first of the two variants' calls fails, with no retry left
    images, _, report, _ = erase(variants=2, ghost_face_retries=0, on_ghost_face="return original")
    statuses = sorted(v["status"] for v in report[0]["variants"])
    assert statuses == ["ok", "original"]
    kept = next(k for k, v in enumerate(report[0]["variants"]) if v["status"] == "original")
    assert torch.equal(images[kept], IMAGE[0])
