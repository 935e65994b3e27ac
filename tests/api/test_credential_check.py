"""Settings > Test over real HTTP against the stand-in: unbilled probes that prove the key pair and the permission for
Inpainting (and say whether subject segmentation is enabled), and name the service a 50400 is about."""
from __future__ import annotations

import asyncio
import logging

import pytest

pytest.importorskip("aiohttp")
from helpers.settings_routes import AK, SECRETS, SK, TOKEN
from helpers.settings_routes import serve as run
from volc_pack.utils.api.client import ClientConfig, VisualClient
from volc_pack.utils.api.credential_routes import CHECK_ROUTE
from volc_pack.utils.api.credentials import Credentials
from volc_pack.utils.api.errors import GatewayAuthError
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault

PAIR = (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY)


def check(tmp_path, pair, *, endpoint=None, environ=None):
    """Store `pair` through the route (unless None), call the check route, return its answer."""

    async def scenario(s, path):
        if pair is not None:
            status, _ = await s.save({"access_key": pair[0], "secret_key": pair[1]})
            assert status == 200
        status, body = await s.call("POST", CHECK_ROUTE, json={}, headers={"Origin": s.origin})
        assert status == 200 and body["ok"] is True
        return body

    options = {"client_config": lambda: ClientConfig(endpoint=endpoint, max_connect_retries=0,
                                                     max_rate_limit_retries=0, connect_timeout=2, read_timeout=10)}
    if environ is not None:
        options["environ"] = environ
    return run(scenario, tmp_path, **options)


def test_check_proves_inpainting_without_an_image_and_so_without_a_bill(tmp_path, standin):
    body = check(tmp_path, PAIR, endpoint=standin.endpoint)
    assert body["outcome"] == "ok" and body["source"] == "ComfyUI settings"
    assert body["key_hint"] == "…" + STANDIN_ACCESS_KEY[-4:] and body["request_id"]
    assert "works for Inpainting (i2i_inpainting)" in body["message"] and "nothing was billed" in body["message"]
    assert body["services"] == {"i2i_inpainting": "ok", "saliency_seg": "ok"}
    inpaint, saliency = standin.requests
    assert (inpaint.action, inpaint.req_key, inpaint.images, inpaint.code) == (
        "Img2ImgInpainting", "i2i_inpainting", [], 50201)
    assert (saliency.req_key, saliency.images, saliency.code) == ("saliency_seg", [], 50201)
    assert inpaint.signed and saliency.signed and standin.count() == 2


def test_check_uses_the_environment_first(tmp_path, standin):
    env = {"VOLC_ACCESSKEY": STANDIN_ACCESS_KEY, "VOLC_SECRETKEY": STANDIN_SECRET_KEY}
    body = check(tmp_path, (AK, SK), endpoint=standin.endpoint, environ=env)
    assert body["outcome"] == "ok" and body["source"] == "environment"


def test_check_unknown_access_key(tmp_path, standin):
    body = check(tmp_path, (AK, SK), endpoint=standin.endpoint)
    assert body["outcome"] == "key_not_found" and "does not know this access key" in body["message"]
    assert "WXYZ" in body["message"]


def test_check_wrong_secret(tmp_path, standin):
    body = check(tmp_path, (STANDIN_ACCESS_KEY, "wrong-secret-for-the-standin"), endpoint=standin.endpoint)
    assert body["outcome"] == "signature_wrong" and "secret key does not belong" in body["message"]


@pytest.mark.parametrize("code", ["AccessDenied", "LackPolicy"])
def test_check_without_access_to_the_visual_service(tmp_path, standin, code):
    standin.inject(Fault("gateway", code=code))
    body = check(tmp_path, PAIR, endpoint=standin.endpoint)
    assert body["outcome"] == "no_permission" and "lacks permission for the visual service (cv)" in body["message"]
    assert code in body["message"] and standin.count() == 1  # no second probe after a gateway refusal


def test_check_an_account_without_inpainting(tmp_path, standin):
    standin.deny("i2i_inpainting")
    body = check(tmp_path, PAIR, endpoint=standin.endpoint)
    assert body["outcome"] == "no_permission"
    assert "no permission for Inpainting (i2i_inpainting)" in body["message"] and "50400" in body["message"]
    assert "Subject segmentation (saliency_seg), for the Volcengine Subject Mask node: permitted" in body["message"]
    assert body["services"] == {"i2i_inpainting": "no_permission", "saliency_seg": "ok"}


def test_check_an_account_with_inpainting_only(tmp_path, standin):
    """The case saliency got wrong: Inpainting works, so the outcome is ok, and the note names what will not."""
    standin.deny("saliency_seg")
    body = check(tmp_path, PAIR, endpoint=standin.endpoint)
    assert body["outcome"] == "ok" and "works for Inpainting" in body["message"]
    assert "Subject segmentation (saliency_seg): no permission (code 50400)" in body["message"]
    assert "Volcengine Subject Mask node will fail" in body["message"]
    assert body["services"] == {"i2i_inpainting": "ok", "saliency_seg": "no_permission"}


def test_a_post_validation_fault_is_never_reached_so_nothing_is_billed(tmp_path, standin):
    standin.inject(Fault("error", code=50500))  # applies only to a request whose body is valid
    body = check(tmp_path, PAIR, endpoint=standin.endpoint)
    assert body["outcome"] == "ok" and standin.pending_faults() == 1


def test_check_network_failure(tmp_path):
    import socket

    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    body = check(tmp_path, PAIR, endpoint=f"http://127.0.0.1:{port}")
    assert body["outcome"] == "network" and "Could not connect" in body["message"]


def test_check_other_errors_carry_the_errors_sentence(tmp_path, standin):
    standin.inject(Fault("gateway", code="InvalidTimestamp"))
    body = check(tmp_path, PAIR, endpoint=standin.endpoint)
    assert body["outcome"] == "other" and "clock" in body["message"]


def test_check_without_credentials(tmp_path, standin):
    body = check(tmp_path, None, endpoint=standin.endpoint)
    assert body["outcome"] == "not_configured" and "No Volcengine credentials found" in body["message"]
    assert standin.requests == []


def test_check_refuses_arguments_and_non_json(tmp_path):
    async def scenario(s, path):
        status, body = await s.call("POST", CHECK_ROUTE, json={"access_key": AK, "secret_key": SK})
        assert status == 400 and "no arguments" in body["error"]
        status, _ = await s.call("POST", CHECK_ROUTE, data=b"", headers={"Content-Type": "text/plain"})
        assert status == 415

    run(scenario, tmp_path)


def test_nothing_secret_reaches_the_log(tmp_path, standin, caplog):
    caplog.set_level(logging.DEBUG)
    check(tmp_path / "a", PAIR, endpoint=standin.endpoint)
    check(tmp_path / "b", (STANDIN_ACCESS_KEY, "wrong-secret-for-the-standin"), endpoint=standin.endpoint)

    async def scenario(s, path):
        await s.save({"access_key": AK, "secret_key": SK, "session_token": TOKEN})
        await s.save({"access_key": AK, "secret_key": SK}, headers={"Origin": "http://evil.example"})
        await s.call("GET")
        await s.call("DELETE")

    run(scenario, tmp_path / "c")
    assert "Volcengine credentials check: ok" in caplog.text and "refused a cross-origin" in caplog.text
    for secret in (*SECRETS, AK, STANDIN_ACCESS_KEY):
        assert secret not in caplog.text



# --- 50400 names the service it is about, in the nodes' errors too --------------------------------------------------

@pytest.mark.parametrize("req_key, words", [("i2i_inpainting", "no permission for Inpainting (i2i_inpainting)"),
                                            ("saliency_seg", "no permission for subject segmentation (saliency_seg)")])
def test_a_50400_names_the_service(standin, req_key, words):
    from helpers.samples import sample_pair
    from volc_pack.utils.api.client import InpaintOptions

    standin.deny(req_key)
    client = VisualClient(Credentials(*PAIR, source="test"), ClientConfig(endpoint=standin.endpoint))
    image, mask = sample_pair(160, 160)
    with pytest.raises(GatewayAuthError) as info:
        if req_key == "i2i_inpainting":
            asyncio.run(client.inpaint(image, mask, InpaintOptions()))
        else:
            asyncio.run(client.saliency(image))
    assert info.value.code == 50400 and words in str(info.value) and "Service said" in str(info.value)
    assert "Enable" in info.value.hint
