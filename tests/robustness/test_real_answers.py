"""Answers a real service may give, through the NODES and the CLI over real HTTP: malformed success answers, URL-only
answers and URLs that must not be fetched, error bodies the code table does not know, codes 50518-50522, echoed
credentials and the strict upload limits. Every case ends in a success with an exact paste-back or in one clear
sentence; nothing foreign is fetched and no key material comes out."""
from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.answers import MALFORMED, Witness
from helpers.faults import IMAGE, MASK, SUBJECT, erase, erase_fails, only_variant, photo
from helpers.secrets import TOKEN, Secrets
from volc_pack.utils.api import errors
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault


def one_line(text: str) -> str:
    assert "\n" not in text and "Traceback" not in text and "{" not in text and "b'" not in text, text
    return text


def exact_outside(images: torch.Tensor, paste_mask: torch.Tensor, original: torch.Tensor = IMAGE) -> None:
    outside = paste_mask[0] == 0
    assert torch.equal(images[0][outside], original[0][outside])
    inside = MASK[0].bool()
    assert (images[0][inside] - original[0][inside]).abs().mean() > 0.02


# --- the erase node ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_node_malformed_success_answer_is_one_sentence(standin_env, shape):
    standin_env.inject(Fault("malformed", shape=shape, times=2))
    exc, _ = erase_fails(errors.ServiceError)
    assert MALFORMED[shape] in one_line(str(exc)) and standin_env.count() == 1


def test_node_reports_the_urls_asked_for_with_return_url(standin_env):
    images, paste_mask, report, _ = erase(return_url=True)
    urls = only_variant(report)["urls"]
    assert len(urls) == 1 and urls[0].startswith(standin_env.endpoint + "/results/")
    assert standin_env.downloads == []  # the inline image was used; the URL is the user's to keep
    exact_outside(images, paste_mask)


def test_node_without_return_url_reports_no_url(standin_env):
    _, _, report, _ = erase()
    assert "urls" not in only_variant(report)


def test_node_url_only_answer_is_downloaded_from_the_standin_and_pasted(standin_env):
    standin_env.inject(Fault("url_only"))
    images, paste_mask, report, _ = erase(return_url=True)
    assert len(standin_env.downloads) == 1 and only_variant(report)["urls"]
    exact_outside(images, paste_mask)


@pytest.mark.parametrize("url,why", [("http://169.254.169.254/latest/meta-data/", "not https"),
                                     ("https://169.254.169.254/latest/meta-data/", "link-local"),
                                     ("https://WITNESS/x.jpg", "loopback"), ("http://WITNESS/x.jpg", "not https")])
def test_node_never_fetches_a_forbidden_result_url(standin_env, url, why):
    witness = Witness()
    try:
        standin_env.inject(Fault("url_only", url=url.replace("WITNESS", f"127.0.0.1:{witness.port}")))
        exc, _ = erase_fails(errors.ServiceError, return_url=True)
        assert why in one_line(str(exc)) and witness.hits == [] and standin_env.downloads == []
    finally:
        witness.close()


def test_node_does_not_follow_a_redirect(standin_env):
    standin_env.inject(Fault("url_only", shape="redirect"))
    exc, _ = erase_fails(errors.ServiceError)
    assert "redirect" in one_line(str(exc)) and [s for _, s in standin_env.downloads] == [302]


def test_node_gateway_outage_is_retried_once_and_reported(standin_env):
    standin_env.inject(Fault("gateway", code="ServiceTemporarilyUnavailable", status=503))
    images, paste_mask, report, _ = erase()
    variant = only_variant(report)
    assert variant["attempts"] == 2 and variant["retries"] == ["ServiceTemporarilyUnavailable"]
    exact_outside(images, paste_mask)


@pytest.mark.parametrize("fault,cls,words", [
    (Fault("gateway", code="ServiceTemporarilyUnavailable", status=503, times=3), errors.ServiceError,
     "ServiceTemporarilyUnavailable"),
    (Fault("gateway", code="FlowLimitExceeded", status=429, times=20), errors.RateLimitError, "FlowLimitExceeded"),
    (Fault("plain_text", status=400), errors.ServiceError, 'HTTP 400 in plain text: "Error when parsing request"'),
    (Fault("gateway", code="NeverSeenBefore", status=403), errors.ServiceError, "NeverSeenBefore"),
])
def test_node_unknown_errors_are_quoted_not_blamed_on_the_credentials(standin_env, monkeypatch, fault, cls, words):
    from volc_pack.nodes import common as node_common

    monkeypatch.setattr(node_common, "ClientConfig", _fast_backoff(node_common.ClientConfig))
    standin_env.inject(fault)
    exc, _ = erase_fails(cls)
    text = one_line(str(exc))
    assert words in text and "credential" not in text.lower() and "VOLC_SECRETKEY" not in text


def _fast_backoff(config_class):
    """The node's ClientConfig with millisecond backoff, so a rate-limit burst does not take real seconds."""
    def make(**kwargs):
        return config_class(backoff_base=0.01, backoff_cap=0.02, **kwargs)
    return make


def test_node_50519_takes_the_new_seed_path(standin_env):
    standin_env.inject(Fault("error", code=50519))
    images, paste_mask, report, _ = erase(seed=5)
    variant = only_variant(report)
    assert variant["retries"] == ["50519: new seed"] and [r.params["seed"] for r in standin_env.requests] == [5, 6]
    exact_outside(images, paste_mask)


def test_node_50519_follows_on_ghost_face_after_the_retries(standin_env):
    standin_env.inject(Fault("error", code=50519))  # the first of the two variants' calls, with no retry left
    images, _, report, _ = erase(variants=2, ghost_face_retries=0, on_ghost_face="return original")
    variants = report[0]["variants"]
    assert sorted(v["status"] for v in variants) == ["ok", "original"]
    kept = next(k for k, v in enumerate(variants) if v["status"] == "original")
    assert torch.equal(images[kept], IMAGE[0])


@pytest.mark.parametrize("shape", ["gateway", "service", "success"])
def test_node_scrubs_echoed_credentials_everywhere(standin_env, monkeypatch, caplog, shape):
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    secrets = Secrets(access_key=STANDIN_ACCESS_KEY, secret_key=STANDIN_SECRET_KEY, token=TOKEN)
    standin_env.inject(Fault("echo_credentials", shape=shape))
    try:
        _, _, report, _ = erase(return_url=True)
        text = json.dumps(report, ensure_ascii=False)
    except errors.VolcError as exc:
        text = str(exc) + repr(exc) + repr(exc.__dict__)
    assert "…" + STANDIN_ACCESS_KEY[-4:] in text
    secrets.check("the node's answer", text + caplog.text)


# --- the subject-mask node -----------------------------------------------------------------------------------------

def subject(height=140, width=160):
    image = torch.full((1, height, width, 3), 0.85)
    image[:, height // 3: 2 * height // 3, width // 3: 2 * width // 3] = torch.tensor([0.8, 0.1, 0.1])
    return image


@pytest.mark.parametrize("shape,words", [("tiny", "1x1 mask for a 160x140 image"), ("bomb", "decompression bomb"),
                                         ("base64_object", "binary_data_base64 is an object")])
def test_subject_mask_node_refuses_odd_masks(standin_env, shape, words):
    standin_env.inject(Fault("malformed", shape=shape))
    with pytest.raises(errors.ServiceError) as info:
        asyncio.run(SUBJECT().segment(subject(), "none", 0, 30.0))
    assert words in one_line(str(info.value))


def test_subject_mask_upload_stays_within_4_700_000_base64_characters(standin_env):
    noise = torch.from_numpy(np.random.default_rng(5).random((1, 2048, 2048, 3), dtype=np.float32))
    asyncio.run(SUBJECT().segment(noise, "none", 0, 60.0))
    (request,) = standin_env.requests
    assert 4_000_000 < 4 * -(-request.images[0].byte_size // 3) <= 4_700_000  # the budget was needed, and held


def test_erase_upload_stays_within_5_000_000_base64_characters(standin_env):
    noise = torch.from_numpy(np.random.default_rng(6).random((1, 2048, 2048, 3), dtype=np.float32))
    mask = torch.zeros((1, 2048, 2048))
    mask[:, 900:1100, 900:1100] = 1.0
    images, paste_mask, _, _ = erase(noise, mask, crop_to_mask=False)
    picture, sent_mask = standin_env.requests[0].images
    assert 4_500_000 < 4 * -(-picture.byte_size // 3) <= 5_000_000 and sent_mask.byte_size < 3_750_000
    outside = paste_mask[0] == 0
    assert torch.equal(images[0][outside], noise[0][outside])


# --- the CLI -------------------------------------------------------------------------------------------------------

@pytest.fixture
def painted(tmp_path):
    picture = (photo(96, 96)[0].numpy() * 255 + 0.5).astype(np.uint8)
    rgba = np.dstack([picture, np.full((96, 96), 255, np.uint8)])
    rgba[30:60, 30:60, 3] = 0  # transparent = erase, like LoadImage
    Image.fromarray(rgba, "RGBA").save(tmp_path / "painted.png")
    return tmp_path / "painted.png"


def run_cli(painted, capsys, *options):
    import erase as cli

    out = painted.parent / "out"
    code = cli.main([str(painted), "--out", str(out), *options])
    captured = capsys.readouterr()
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else None
    return code, captured.out, captured.err.strip().splitlines(), report


@pytest.mark.parametrize("shape", ["base64_number", "urls_number", "data_null", "not_image", "algorithm_failed",
                                   "json_list", "bomb", "oversized"])
def test_cli_malformed_answer_exits_1_with_one_line(standin_env, painted, capsys, shape):
    standin_env.inject(Fault("malformed", shape=shape))
    code, _, err, _ = run_cli(painted, capsys)
    assert code == 1 and len(err) == 1 and MALFORMED[shape] in one_line(err[0])


def test_cli_report_has_the_urls_of_return_url(standin_env, painted, capsys):
    code, _, _, report = run_cli(painted, capsys, "--return-url")
    urls = report[0]["items"][0]["variants"][0]["urls"]
    assert code == 0 and urls[0].startswith(standin_env.endpoint + "/results/")


def test_cli_url_only_answer_is_downloaded(standin_env, painted, capsys):
    standin_env.inject(Fault("url_only"))
    code, _, _, report = run_cli(painted, capsys, "--return-url")
    assert code == 0 and len(standin_env.downloads) == 1 and report[0]["items"][0]["status"] == "ok"


def test_cli_forbidden_url_is_one_line_and_never_fetched(standin_env, painted, capsys):
    standin_env.inject(Fault("url_only", url="https://169.254.169.254/latest/meta-data/iam/"))
    code, _, err, _ = run_cli(painted, capsys, "--return-url")
    assert code == 1 and len(err) == 1 and "link-local" in one_line(err[0]) and standin_env.downloads == []


@pytest.mark.parametrize("fault,words", [
    (Fault("plain_text", status=400), "HTTP 400 in plain text"),
    (Fault("gateway", code="NeverSeenBefore", status=418), "NeverSeenBefore"),
    (Fault("gateway", code="ServiceTemporarilyUnavailable", status=503, times=2), "ServiceTemporarilyUnavailable"),
])
def test_cli_unknown_errors_are_quoted(standin_env, painted, capsys, fault, words):
    standin_env.inject(fault)
    code, _, err, _ = run_cli(painted, capsys)
    assert code == 1 and len(err) == 1 and words in one_line(err[0]) and "credential" not in err[0].lower()


def test_cli_50519_retries_with_a_new_seed(standin_env, painted, capsys):
    standin_env.inject(Fault("error", code=50519))
    code, _, _, report = run_cli(painted, capsys, "--seed", "9")
    assert code == 0 and report[0]["items"][0]["variants"][0]["retries"] == ["50519: new seed"]


@pytest.mark.parametrize("shape", ["gateway", "service", "success"])
def test_cli_scrubs_echoed_credentials(standin_env, painted, capsys, monkeypatch, shape):
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    standin_env.inject(Fault("echo_credentials", shape=shape))
    code, out, err, report = run_cli(painted, capsys, "--return-url")
    text = out + "\n".join(err) + json.dumps(report, ensure_ascii=False)
    assert code == (0 if shape == "success" else 1)
    Secrets(access_key=STANDIN_ACCESS_KEY, secret_key=STANDIN_SECRET_KEY, token=TOKEN).check("the CLI", text)


def test_cli_runs_use_one_pooled_connection_each(standin_env, painted, capsys):
    for _ in range(3):  # --overwrite: a re-run into the same folder would skip the image whose outputs exist
        assert run_cli(painted, capsys, "--variants", "2", "--timeout", str(30 + len(standin_env.requests)),
                       "--overwrite")[0] == 0
    # each run is its own event loop with one pool; its two calls (variants) may open two connections at once
    assert 3 <= standin_env.connections()[0] <= 6 and standin_env.count() == 6
