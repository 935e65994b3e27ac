"""Fault injection, continued: gateway refusals, one failing item of a batch, the subject-mask node and the CLI."""
from __future__ import annotations

import asyncio
import json
import numpy as np
import pytest
import sys
import time
import torch
import types
from datetime import datetime, timedelta, timezone
from volc_pack.utils.api import client as client_module, errors
from volc_pack.utils.standin import Fault
from helpers.faults import (PAIR, PAIR_MASKS, SUBJECT, assert_clear, erase, erase_fails, inpaint_count, only_variant,
                            segment, settle)


# --- the gateway -------------------------------------------------------------------------------------------------

def test_wrong_secret_key_is_signature_does_not_match(standin_env, monkeypatch):
    monkeypatch.setenv("VOLC_SECRETKEY", "not-the-secret-of-this-key")
    exc, seconds = erase_fails(errors.GatewayAuthError)
    assert_clear(exc, errors.GatewayAuthError, "SignatureDoesNotMatch", "VOLC_SECRETKEY")
    assert exc.http_status == 401 and exc.request_id and seconds < 5
    (seen,) = standin_env.requests
    assert not seen.signed and seen.code == "SignatureDoesNotMatch"


def test_clock_off_by_an_hour_is_invalid_timestamp(standin_env, monkeypatch):
    real = client_module.sign_request

    def skewed(*args, **kwargs):
        return real(*args, now=datetime.now(timezone.utc) - timedelta(hours=1), **kwargs)

    monkeypatch.setattr(client_module, "sign_request", skewed)
    exc, _ = erase_fails(errors.GatewayAuthError)
    assert_clear(exc, errors.GatewayAuthError, "InvalidTimestamp", "clock")
    assert exc.http_status == 400 and standin_env.count() == 1


@pytest.mark.parametrize("code,status,fix", [("InvalidTimestamp", 400, "clock.*NTP"),
                                             ("AccessDenied", 403, "IAM"),
                                             ("LackPolicy", 403, "IAM"),
                                             ("ServiceNotFound", 404, "VOLC_VISUAL_ENDPOINT")])
def test_gateway_refusal_is_explained_and_not_retried(standin_env, code, status, fix):
    standin_env.inject(Fault("gateway", code=code, times=3))
    exc, seconds = erase_fails(errors.GatewayAuthError)
    assert_clear(exc, errors.GatewayAuthError, code, fix)
    assert exc.http_status == status and exc.request_id and seconds < 5
    assert standin_env.count() == 1 and standin_env.pending_faults() == 2


def test_gateway_refusal_of_one_variant_cancels_the_others_waits(standin_env):
    # The first request is refused; the other three variants sit in a 4 s latency and must be abandoned.
    standin_env.inject(Fault("gateway", code="AccessDenied"), Fault("latency", seconds=4, times=3))
    exc, seconds = erase_fails(errors.GatewayAuthError, variants=4)
    assert exc.code == "AccessDenied" and seconds < 3
    settle(standin_env)
    assert standin_env.count() == 4 and standin_env.pending_faults() == 0


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
def test_one_failing_item_is_reported_and_the_others_kept(standin_env, fast_node_timeout, fault_id):
    faults, options, error_type, text, fix, requests = ITEM_FAULTS[fault_id]
    standin_env.inject(*faults)
    images, paste_mask, report, seconds = erase(PAIR, PAIR_MASKS, on_item_error="return original", **options)
    assert seconds < 5
    assert sorted(item["status"] for item in report) == ["ok", "partial"]
    failed = next(i for i, item in enumerate(report) if item["status"] == "partial")
    kept = 1 - failed
    variant = only_variant(report, failed)
    assert variant["status"] == "original" and variant["error_type"] == error_type
    # The report's error is the one-sentence headline with the fix; codes and the service's words are in details.
    assert fix.lower() in variant["error"].lower() and "\n" not in variant["error"]
    assert text in variant["error"] + " " + variant.get("details", "")
    # The failed item is its original, bit for bit, and nothing was pasted into it.
    assert torch.equal(images[failed], PAIR[failed]) and paste_mask[failed].max() == 0
    # The other item was erased inside its mask and kept outside it.
    inside = PAIR_MASKS[kept].bool()
    assert (images[kept][inside] - PAIR[kept][inside]).abs().mean() > 0.02
    outside = paste_mask[kept] == 0
    assert torch.equal(images[kept][outside], PAIR[kept][outside])
    assert only_variant(report, kept)["status"] == "ok"
    assert inpaint_count(standin_env) == requests


def test_one_failing_item_without_fallback_raises_its_cause(standin_env):
    standin_env.inject(Fault("error", code=50411))
    exc, seconds = erase_fails(errors.ContentReviewError, PAIR, PAIR_MASKS, on_item_error="error")
    assert exc.code == 50411 and seconds < 5
    settle(standin_env)
    assert 1 <= inpaint_count(standin_env) <= 2


def test_report_counts_every_attempt_of_a_failed_item(standin_env):
    standin_env.inject(Fault("error", code=50500, times=3))
    _, _, report, _ = erase(PAIR, PAIR_MASKS, on_item_error="return original")
    failed = next(item for item in report if item["status"] == "partial")
    variant = only_variant([failed])
    assert variant["attempts"] == 2 and variant["retries"] == ["50500"]
    assert sum(only_variant(report, i)["attempts"] for i in range(2)) == inpaint_count(standin_env) == 4


# --- the subject-mask node ---------------------------------------------------------------------------------------

def subject_images(batch: int = 1, height: int = 140, width: int = 160) -> torch.Tensor:
    image = torch.full((batch, height, width, 3), 0.85)
    image[:, height // 3: 2 * height // 3, width // 3: 2 * width // 3] = torch.tensor([0.8, 0.1, 0.1])
    return image


def test_subject_mask_empty_answer_in_a_batch_is_an_empty_mask_and_a_note(standin_env, monkeypatch):
    texts = []
    server = types.SimpleNamespace(PromptServer=types.SimpleNamespace(instance=types.SimpleNamespace(
        send_progress_text=lambda text, node_id: texts.append((text, node_id)))))
    monkeypatch.setitem(sys.modules, "server", server)
    standin_env.inject(Fault("empty_mask"))
    subject, background, report, seconds = asyncio.run(_segment_with_id(subject_images(batch=2)))
    assert seconds < 5
    noted = [item["index"] for item in report if "note" in item]
    assert len(noted) == 1
    empty, found = noted[0], 1 - noted[0]
    assert subject[empty].sum() == 0 and background[empty].min() == 1
    assert subject[found].sum() > 0 and "note" not in report[found]
    assert report[empty]["subject_fraction"] == 0 and report[found]["subject_fraction"] > 0.05
    assert texts[-1] == (f"No subject found in image(s) {empty + 1}: their masks are empty.", "9")
    assert standin_env.count("saliency_seg") == 2


async def _segment_with_id(image):
    started = time.monotonic()
    subject, background, report = await SUBJECT().segment(image, "none", 0, 30.0, unique_id="9")
    return subject, background, json.loads(report), time.monotonic() - started


def test_subject_mask_rate_limit_is_retried_and_counted_in_the_report(standin_env):
    standin_env.inject(Fault("error", code=50429))
    subject, _, report, seconds = segment(subject_images())
    assert report[0]["attempts"] == 2 and subject.sum() > 0
    assert standin_env.count("saliency_seg") == 2 and 0.5 <= seconds < 4


def test_subject_mask_wrong_size_answer_is_scaled_to_the_input(standin_env):
    standin_env.inject(Fault("wrong_size"))
    subject, background, report, _ = segment(subject_images(height=150, width=200))
    assert subject.shape == background.shape == (1, 150, 200) and report[0]["size"] == [200, 150]
    assert subject[0, 75, 100] > 0.5 and subject[0, 5, 5] < 0.5
    assert standin_env.count("saliency_seg") == 1


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
def test_subject_mask_errors_surface_clearly(standin_env, fault_id):
    faults, cls, code, fix, requests = SUBJECT_ERRORS[fault_id]
    standin_env.inject(*faults)
    started = time.monotonic()
    with pytest.raises(cls) as info:
        segment(subject_images())
    assert_clear(info.value, cls, code, fix)
    assert standin_env.count() == requests and time.monotonic() - started < 5


def test_subject_mask_wrong_secret_is_named(standin_env, monkeypatch):
    monkeypatch.setenv("VOLC_SECRETKEY", "not-the-secret-of-this-key")
    with pytest.raises(errors.GatewayAuthError) as info:
        segment(subject_images(batch=2))
    assert_clear(info.value, errors.GatewayAuthError, "SignatureDoesNotMatch", "VOLC_SECRETKEY")
    settle(standin_env)
    assert 1 <= standin_env.count() <= 2


# --- the CLI: one failing file of several ------------------------------------------------------------------------

def _painted(path, seed):
    from PIL import Image

    rgba = np.concatenate([np.random.default_rng(seed).integers(0, 256, (96, 96, 3), dtype=np.uint8),
                           np.full((96, 96, 1), 255, np.uint8)], -1)
    rgba[30:60, 30:60, 3] = 0  # transparent = erase, like LoadImage
    Image.fromarray(rgba, "RGBA").save(path)
    return str(path)


def test_cli_keeps_the_other_files_when_one_fails_and_return_original_is_chosen(standin_env, tmp_path, capsys):
    import erase as cli  # scripts/ is on the path (pyproject pythonpath)

    standin_env.inject(Fault("error", code=50411))
    files = [_painted(tmp_path / "a.png", 1), _painted(tmp_path / "b.png", 2)]
    code = cli.main([*files, "--out", str(tmp_path / "out"), "--on-item-error", "return original"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    statuses = sorted(entry["items"][0]["status"] for entry in report)
    assert statuses == ["ok", "partial"] and inpaint_count(standin_env) == 2
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["a_v1.png", "b_v1.png"]
