"""The stand-in's modes for answers off the happy path, seen from a plain HTTP client: trickled answers, malformed
success bodies, URL-only answers, plain-text and unknown gateway errors, echoed credentials, the strict upload
limits, connection counting and the `--fault` syntax."""
from __future__ import annotations

import base64
import io
import json
import time

import httpx
import pytest
from PIL import Image

from helpers.standin import CLIENT, CV, IMAGE, INPAINT, MASK, b64, body, encode, post, saliency_body, subject_scene
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault, parse_fault
from volc_pack.utils.standin.faults import FAULT_HELP, FAULT_KINDS, SHAPES
from volc_pack.utils.standin.shapes import BOMB_SIDE, OVERSIZED_BYTES

TOKEN = "STS-EXAMPLE-token-for-echo-0123456789"


def test_every_fault_kind_has_a_help_line_and_every_shape_is_accepted():
    assert set(FAULT_HELP) == set(FAULT_KINDS)
    for kind, shapes in SHAPES.items():
        for shape in shapes:
            assert Fault(kind, shape=shape).shape == shape
        assert Fault(kind).shape == shapes[0]
    with pytest.raises(ValueError, match="shape"):
        Fault("malformed", shape="nonsense")
    with pytest.raises(ValueError, match="STATUS"):
        Fault("gateway", code="NotInTheTable")
    with pytest.raises(ValueError, match="rate"):
        Fault("trickle", rate=0)


@pytest.mark.parametrize("text,expected", [
    ("trickle", dict(kind="trickle", shape="answer", rate=1.0)),
    ("trickle:5", dict(kind="trickle", shape="answer", rate=5.0)),
    ("trickle:download@50/2", dict(kind="trickle", shape="download", rate=50.0, times=2)),
    ("trickle:download", dict(kind="trickle", shape="download", rate=1.0)),
    ("malformed:bomb/3", dict(kind="malformed", shape="bomb", times=3)),
    ("url_only:redirect", dict(kind="url_only", shape="redirect", url=None)),
    ("url_only:http://169.254.169.254/latest/meta-data/", dict(kind="url_only",
                                                                url="http://169.254.169.254/latest/meta-data/")),
    ("plain_text:503/2", dict(kind="plain_text", status=503, times=2)),
    ("gateway:ServiceTemporarilyUnavailable@503", dict(kind="gateway", code="ServiceTemporarilyUnavailable",
                                                       status=503)),
    ("gateway:AccessDenied", dict(kind="gateway", code="AccessDenied", status=None)),
    ("echo_credentials:success", dict(kind="echo_credentials", shape="success")),
    ("error:50519/4", dict(kind="error", code=50519, times=4)),
])
def test_fault_command_line_syntax(text, expected):
    fault = parse_fault(text)
    assert {name: getattr(fault, name) for name in expected} == expected


# --- trickle -------------------------------------------------------------------------------------------------------

def test_trickle_sends_the_answer_at_the_given_rate(standin):
    standin.inject(Fault("trickle", rate=2000))
    started = time.monotonic()
    response = post(standin, body())
    took = time.monotonic() - started
    assert response.json()["code"] == 10000
    assert took >= (len(response.content) - 200) / 2000  # the first write goes at once, then 200 B per 0.1 s


def test_trickle_is_cut_short_by_a_client_that_gives_up(standin):
    standin.inject(Fault("trickle", rate=1))
    with pytest.raises(httpx.ReadTimeout):
        post(standin, body(), timeout=0.5)
    assert post(standin, body()).json()["code"] == 10000  # the stand-in is still serving


def test_trickle_download_shape_answers_a_url_whose_image_trickles(standin):
    standin.inject(Fault("trickle", shape="download", rate=20000))
    data = post(standin, body()).json()["data"]
    assert data["binary_data_base64"] == [] and data["image_urls"][0].startswith(standin.endpoint)
    started = time.monotonic()
    image = CLIENT.get(data["image_urls"][0])
    assert image.content[:2] == b"\xff\xd8" and time.monotonic() - started >= (len(image.content) - 2000) / 20000


# --- malformed success answers -------------------------------------------------------------------------------------

def _answer(standin, shape, payload=None, action=INPAINT):
    standin.inject(Fault("malformed", shape=shape))
    response = post(standin, payload or body(), action)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("shape,check", [
    ("base64_number", lambda a: a["data"]["binary_data_base64"] == 12345),
    ("base64_object", lambda a: isinstance(a["data"]["binary_data_base64"], dict)),
    ("base64_numbers", lambda a: a["data"]["binary_data_base64"] == [1, 2]),
    ("urls_number", lambda a: a["data"]["binary_data_base64"] == [] and a["data"]["image_urls"] == 7),
    ("data_null", lambda a: a["data"] is None and a["code"] == 10000),
    ("no_image", lambda a: "binary_data_base64" not in a["data"] and "image_urls" not in a["data"]),
    ("not_image", lambda a: base64.b64decode(a["data"]["binary_data_base64"][0]).startswith(b"<html>")),
    ("algorithm_failed", lambda a: a["code"] == 10000 and a["data"]["algorithm_base_resp"]["status_code"] == 100202),
    ("json_list", lambda a: isinstance(a, list) and a[0]["code"] == 10000),
    ("code_missing", lambda a: "code" not in a and a["data"]["binary_data_base64"]),
])
def test_malformed_shapes(standin, shape, check):
    assert check(_answer(standin, shape).json())
    assert post(standin, body()).json()["code"] == 10000


def test_malformed_bomb_is_a_small_valid_png_of_huge_dimensions(standin):
    data = base64.b64decode(_answer(standin, "bomb").json()["data"]["binary_data_base64"][0])
    assert len(data) < 200_000
    Image.MAX_IMAGE_PIXELS = None  # this test wants the header only
    try:
        with Image.open(io.BytesIO(data)) as img:
            assert img.format == "PNG" and img.size == (BOMB_SIDE, BOMB_SIDE)
    finally:
        Image.MAX_IMAGE_PIXELS = 89_478_485


def test_malformed_tiny_is_a_one_pixel_result_png_for_saliency(standin):
    scene, _ = subject_scene()
    answer = _answer(standin, "tiny", saliency_body(encode(scene), only_mask=1), CV).json()
    with Image.open(io.BytesIO(base64.b64decode(answer["data"]["binary_data_base64"][0]))) as img:
        assert img.size == (1, 1) and img.format == "PNG"


def test_malformed_oversized_streams_past_64_mb_without_a_length(standin):
    standin.inject(Fault("malformed", shape="oversized"))
    url = f"{standin.endpoint}/?Action=Img2ImgInpainting&Version=2022-08-31"
    raw = json.dumps(body()).encode()
    from volc_pack.utils.api.signing import sign_request

    headers = sign_request("POST", url, {"Content-Type": "application/json"}, raw, STANDIN_ACCESS_KEY,
                           STANDIN_SECRET_KEY)
    received = 0
    with CLIENT.stream("POST", url, content=raw, headers=headers) as response:
        assert response.status_code == 200 and "content-length" not in response.headers
        for chunk in response.iter_raw():
            received += len(chunk)
    assert received >= OVERSIZED_BYTES > 64 * 1024 * 1024


# --- URLs, plain text, gateway codes, echoes -----------------------------------------------------------------------

def test_url_only_answers_the_standins_own_working_url(standin):
    standin.inject(Fault("url_only"))
    data = post(standin, body()).json()["data"]
    assert data["binary_data_base64"] == []
    image = CLIENT.get(data["image_urls"][0])
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"


def test_url_only_redirect_and_given_url(standin):
    standin.inject(Fault("url_only", shape="redirect"), Fault("url_only", url="http://169.254.169.254/x"))
    first = post(standin, body()).json()["data"]["image_urls"][0]
    moved = CLIENT.get(first)
    assert moved.status_code == 302 and moved.headers["Location"].startswith("/results/")
    assert CLIENT.get(standin.endpoint + moved.headers["Location"]).content[:2] == b"\xff\xd8"
    assert post(standin, body()).json()["data"]["image_urls"] == ["http://169.254.169.254/x"]


@pytest.mark.parametrize("status", [400, 503])
def test_plain_text_error(standin, status):
    standin.inject(Fault("plain_text", status=status))
    response = post(standin, b"anything at all")  # before validation, like the gateway
    assert response.status_code == status and response.text == "Error when parsing request"
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("code,status", [("ServiceTemporarilyUnavailable", 503), ("FlowLimitExceeded", 429)])
def test_gateway_codes_outside_the_table_take_their_status(standin, code, status):
    standin.inject(Fault("gateway", code=code, status=status))
    response = post(standin, body())
    error = response.json()["ResponseMetadata"]["Error"]
    assert response.status_code == status and error["Code"] == code and "CodeN" not in error


@pytest.mark.parametrize("shape", ["gateway", "service", "success"])
def test_echo_credentials_really_echoes_them(standin, shape):
    standin.inject(Fault("echo_credentials", shape=shape))
    response = post(standin, body(), token=TOKEN)
    for secret in (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, TOKEN):
        assert secret in response.text
    answer = response.json()
    if shape == "gateway":
        meta = answer["ResponseMetadata"]
        assert STANDIN_ACCESS_KEY in meta["RequestId"] and STANDIN_ACCESS_KEY in meta["Error"]["Code"]
    else:
        assert STANDIN_ACCESS_KEY in answer["request_id"] and TOKEN in answer["data"]["request_id"]
    if shape == "success":
        assert answer["code"] == 10000 and TOKEN in answer["data"]["image_urls"][0]
    (seen,) = standin.requests
    assert STANDIN_SECRET_KEY not in repr(seen) and TOKEN not in repr(seen)


# --- strict upload limits and connection counts --------------------------------------------------------------------

def _padded_png(total: int) -> bytes:
    data = encode(Image.open(io.BytesIO(IMAGE)).convert("RGB"), "PNG")
    return data + b"\x00" * (total - len(data))  # bytes after IEND are ignored by decoders


def test_inpainting_takes_5_000_000_base64_characters_and_not_one_more(standin):
    exact = post(standin, {"req_key": "i2i_inpainting", "binary_data_base64": [b64(_padded_png(3_750_000)),
                                                                                 b64(MASK)]})
    assert exact.json()["code"] == 10000 and standin.requests[-1].images[0].byte_size == 3_750_000
    over = post(standin, {"req_key": "i2i_inpainting", "binary_data_base64": [b64(_padded_png(3_750_001)),
                                                                                b64(MASK)]})
    assert over.json()["code"] == 50205 and "5,000,004" in over.json()["message"]


def test_saliency_takes_4_700_000_base64_characters_and_not_one_more(standin):
    scene, _ = subject_scene()
    png = encode(scene)
    exact = post(standin, {"req_key": "saliency_seg", "only_mask": 1,
                           "binary_data_base64": [b64(png + b"\x00" * (3_525_000 - len(png)))]}, CV)
    assert exact.json()["code"] == 10000
    over = post(standin, {"req_key": "saliency_seg", "only_mask": 1,
                          "binary_data_base64": [b64(png + b"\x00" * (3_525_001 - len(png)))]}, CV)
    assert over.json()["code"] == 50205 and "4,700,000" in over.json()["message"]


def test_connections_are_counted_per_clear(standin):
    with httpx.Client(trust_env=False) as client:
        for _ in range(3):
            client.get(f"{standin.endpoint}/results/none.jpg")
    with httpx.Client(trust_env=False) as client:
        client.get(f"{standin.endpoint}/results/none.jpg")
    accepted, _ = standin.connections()
    assert accepted == 2  # keep-alive: one connection per client
    standin.clear()
    assert standin.connections()[0] == 0
