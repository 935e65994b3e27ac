"""The stand-in endpoint over real HTTP on loopback: signing, validation codes, the fill, saliency, every fault,
return_url, recording without secrets, parallel serving, lifecycle and the CLI."""
from __future__ import annotations

import base64
import io
import json
import queue
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from PIL import Image, ImageCms

from volc_pack.utils.sandbox import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY, Fault, Sandbox
from volc_pack.utils.sandbox_fill import dilate, inpaint
from volc_pack.utils.signing import sign_request

ROOT = Path(__file__).resolve().parent.parent
INPAINT = ("Img2ImgInpainting", "2022-08-31")
CV = ("CVProcess", "2022-08-31")
MIB = 1024 * 1024
CLIENT = httpx.Client(timeout=20, trust_env=False)  # trust_env off: no proxy between us and loopback


# --- helpers ---------------------------------------------------------------------------------------------------------

def encode(array: np.ndarray | Image.Image, fmt: str = "PNG", **options) -> bytes:
    image = Image.fromarray(array) if isinstance(array, np.ndarray) else array
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def photo(width: int = 128, height: int = 96) -> np.ndarray:
    """A smooth gradient with a white block exactly where MASK asks to erase."""
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.stack([xx * 200 // width, yy * 200 // height, np.full_like(xx, 90)], -1).astype(np.uint8)
    image[height // 4: height // 2, width // 4: width // 2] = 255
    return image


def box_mask(width: int = 128, height: int = 96) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4: height // 2, width // 4: width // 2] = 255
    return mask


PHOTO = photo()
IMAGE, MASK = encode(PHOTO), encode(box_mask())


def body(image: bytes = IMAGE, mask: bytes = MASK, **params) -> dict:
    return {"req_key": "i2i_inpainting", "binary_data_base64": [b64(image), b64(mask)], **params}


def post(sb: Sandbox, payload: dict | bytes, action: tuple[str, str] = INPAINT, *, ak: str = SANDBOX_ACCESS_KEY,
         sk: str = SANDBOX_SECRET_KEY, token: str | None = None, now: datetime | None = None,
         region: str = "cn-north-1", edit=None, timeout: float = 20) -> httpx.Response:
    url = f"{sb.endpoint}/?Action={action[0]}&Version={action[1]}"
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = sign_request("POST", url, {"Content-Type": "application/json"}, raw, ak, sk, region=region,
                           session_token=token, now=now)
    if edit is not None:
        raw = edit(headers, raw)
    return CLIENT.post(url, content=raw, headers=headers, timeout=timeout)


def result_image(response: httpx.Response, index: int = 0) -> Image.Image:
    data = base64.b64decode(response.json()["data"]["binary_data_base64"][index], validate=True)
    return Image.open(io.BytesIO(data))


def saliency_body(image: bytes, **params) -> dict:
    return {"req_key": "saliency_seg", "binary_data_base64": [b64(image)], **params}


def subject_scene(width: int = 256, height: int = 192) -> tuple[np.ndarray, np.ndarray]:
    """A red object on a plain, slightly noisy beige background, and its true mask."""
    rng = np.random.default_rng(1)
    scene = np.clip(np.array([205, 200, 185]) + rng.normal(0, 4, (height, width, 3)), 0, 255).astype(np.uint8)
    truth = np.zeros((height, width), bool)
    truth[60:140, 80:180] = True
    scene[truth] = (200, 30, 40)
    return scene, truth


@pytest.fixture(scope="module")
def server():
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sb(server):
    server.clear()
    yield server
    server.clear()


def assert_service_error(response: httpx.Response, code: int, status: int, word: str = "") -> dict:
    answer = response.json()
    assert response.status_code == status, response.text
    assert answer["code"] == code and answer["status"] == code and answer["data"] is None
    assert answer["message"] and answer["request_id"] and isinstance(answer["time_elapsed"], str)
    assert word.lower() in answer["message"].lower()
    return answer


def assert_gateway(response: httpx.Response, code: str, code_n: int, status: int, action=INPAINT) -> dict:
    meta = response.json()["ResponseMetadata"]
    assert response.status_code == status, response.text
    assert meta["Error"]["Code"] == code and meta["Error"]["CodeN"] == code_n and meta["Error"]["Message"]
    assert (meta["Action"], meta["Version"], meta["Service"], meta["Region"]) == (*action, "cv", "cn-north-1")
    assert meta["RequestId"]
    assert SANDBOX_SECRET_KEY not in response.text
    return meta


# --- success and the fill ------------------------------------------------------------------------------------------

def test_signed_request_returns_jpeg_of_input_size_changing_only_the_hole(sb):
    response = post(sb, body(seed=5, dilate_size=3))
    answer = response.json()
    assert response.status_code == 200 and answer["code"] == answer["status"] == 10000
    assert answer["message"] == "Success" and answer["data"]["request_id"] == answer["request_id"]
    assert answer["data"]["algorithm_base_resp"] == {"status_code": 0, "status_message": "Success"}
    assert answer["data"]["image_urls"] is None
    out = result_image(response)
    assert out.format == "JPEG" and out.size == (128, 96)
    pixels = np.asarray(out.convert("RGB"), np.float32)
    hole = box_mask() > 127
    far = ~dilate(hole, 8)
    assert np.abs(pixels[far] - PHOTO[far]).mean() < 3  # unmasked: the input, up to JPEG
    assert np.abs(pixels[hole] - PHOTO[hole]).mean() > 60  # the white block was erased ...
    assert pixels[hole].mean() < 200  # ... into the surrounding gradient's colours
    (seen,) = sb.requests
    assert (seen.http_status, seen.code, seen.signed, seen.req_key) == (200, 10000, True, "i2i_inpainting")


def test_same_seed_gives_identical_bytes_and_other_seeds_differ(sb):
    first, again = (post(sb, body(seed=7)).json()["data"]["binary_data_base64"][0] for _ in range(2))
    other = post(sb, body(seed=8)).json()["data"]["binary_data_base64"][0]
    assert first == again and first != other
    randoms = {post(sb, body(seed=-1)).json()["data"]["binary_data_base64"][0] for _ in range(2)}
    assert len(randoms) == 2


def test_dilate_size_grows_the_erased_area(sb):
    image = PHOTO.copy()
    image[14:58, 22:74] = 255  # the white block reaches 10 px beyond the mask on every side ...
    ring = np.zeros((96, 128), bool)
    ring[14:58, 22:74] = True
    ring[20:52, 28:68] = False  # ... and `ring` is its outer 6 px
    for dilate_size, erased in ((0, False), (10, True)):
        out = np.asarray(result_image(post(sb, body(image=encode(image), dilate_size=dilate_size))), np.float32)
        assert (out[ring].mean() < 200) == erased, dilate_size


def test_dilation_is_disk_like_and_exact_in_radius():
    mask = np.zeros((101, 101), bool)
    mask[50, 50] = True
    grown = dilate(mask, 20)
    assert grown[50, 70] and grown[30, 50] and not grown[50, 71] and not grown[50, 29]
    assert grown[63, 63] and not grown[66, 66]  # diagonal reach ~ radius, unlike a square
    assert 0.85 < grown.sum() / (np.pi * 20 ** 2) < 1.1
    assert (dilate(mask, 0) == mask).all()


def test_fill_without_hole_is_identity_and_fully_masked_image_is_still_filled():
    assert (inpaint(PHOTO, np.zeros(PHOTO.shape[:2], bool), 1) == PHOTO).all()
    filled = inpaint(PHOTO, np.ones(PHOTO.shape[:2], bool), 1)
    assert filled.shape == PHOTO.shape and 100 < filled.mean() < 156  # nothing known: grey plus texture


def test_largest_image_is_served_quickly(sb):
    ramp = (np.arange(4096) // 16).astype(np.uint8)
    big = np.empty((4096, 4096, 3), np.uint8)
    big[..., 0], big[..., 1], big[..., 2] = ramp[None, :], ramp[:, None], 90
    mask = np.zeros((4096, 4096), np.uint8)
    mask[1024:3072, 1024:3072] = 255
    payload = body(encode(big, "JPEG", quality=80), encode(mask, compress_level=1))
    started = time.monotonic()
    response = post(sb, payload, timeout=30)
    took = time.monotonic() - started
    assert response.status_code == 200 and result_image(response).size == (4096, 4096)
    assert took < 6  # ~1.5 s on 2 cores; generous for loaded CI machines


# --- gateway -------------------------------------------------------------------------------------------------------

def _drop(name):
    def edit(headers, raw):
        headers.pop(name)
        return raw
    return edit


def _set_auth(value):
    def edit(headers, raw):
        headers["Authorization"] = value
        return raw
    return edit


def _unsign_host(headers, raw):
    headers["Authorization"] = headers["Authorization"].replace("SignedHeaders=content-type;host;",
                                                                "SignedHeaders=content-type;")
    return raw


GATEWAY_CASES = {
    "no-authorization": (dict(edit=_drop("Authorization")), "MissingAuthenticationToken", 100003, 401),
    "malformed": (dict(edit=_set_auth("HMAC-SHA256 nonsense")), "MissingSignature", 100005, 401),
    "other-algorithm": (dict(edit=_set_auth("AWS4-HMAC-SHA256 Credential=a/b/c/d/request, SignedHeaders=host, "
                                            "Signature=00")), "MissingSignature", 100005, 401),
    "unknown-access-key": (dict(ak="AKLTunknownEXAMPLEkeyZ9Q8"), "InvalidAccessKey", 100009, 401),
    "wrong-secret": (dict(sk="not-the-secret"), "SignatureDoesNotMatch", 100010, 401),
    "body-changed": (dict(edit=lambda h, raw: raw + b" "), "SignatureDoesNotMatch", 100010, 401),
    "wrong-region": (dict(region="cn-beijing"), "SignatureDoesNotMatch", 100010, 401),
    "host-not-signed": (dict(edit=_unsign_host), "SignatureDoesNotMatch", 100010, 401),
    "skewed-clock": (dict(now=datetime.now(timezone.utc) - timedelta(minutes=20)), "InvalidTimestamp", 100006, 400),
    "no-x-date": (dict(edit=_drop("X-Date")), "InvalidTimestamp", 100006, 400),
}


@pytest.mark.parametrize("case", sorted(GATEWAY_CASES))
def test_gateway_rejects_bad_authentication(sb, case):
    kwargs, code, code_n, status = GATEWAY_CASES[case]
    meta = assert_gateway(post(sb, body(), **kwargs), code, code_n, status)
    assert "AKLTunknownEXAMPLEkeyZ9Q8" not in meta["Error"]["Message"]
    (seen,) = sb.requests
    assert seen.code == code and seen.http_status == status and not seen.signed


def test_gateway_messages_name_the_problem(sb):
    assert "Z9Q8" in post(sb, body(), ak="AKLTunknownEXAMPLEkeyZ9Q8").json()["ResponseMetadata"]["Error"]["Message"]
    changed = post(sb, body(), edit=lambda h, raw: raw + b" ").json()["ResponseMetadata"]["Error"]["Message"]
    assert "X-Content-Sha256" in changed
    unsigned = post(sb, body(), edit=_unsign_host).json()["ResponseMetadata"]["Error"]["Message"]
    assert "host" in unsigned


def test_clock_skew_limit_is_configurable():
    with Sandbox(max_skew_seconds=5) as strict:
        late = datetime.now(timezone.utc) - timedelta(seconds=30)
        assert_gateway(post(strict, body(), now=late), "InvalidTimestamp", 100006, 400)
    with Sandbox() as default:
        assert post(default, body(), now=late).status_code == 200


@pytest.mark.parametrize("action", [("Foo", "2022-08-31"), ("Img2ImgInpainting", "2020-08-26"), ("", "")])
def test_unknown_action_or_version_is_404(sb, action):
    assert_gateway(post(sb, body(), action), "InvalidActionOrVersion", 100008, 404, action)


def test_cvprocess_serves_inpainting_too(sb):
    assert post(sb, body(), CV).json()["code"] == 10000


# --- validation ----------------------------------------------------------------------------------------------------

def _with(**changes):
    return {**body(), **changes}


def _without(key):
    payload = body()
    del payload[key]
    return payload


def _icc_mask() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(box_mask(), icc_profile=profile)


def _colour_mask() -> bytes:
    mask = np.dstack([box_mask()] * 3)
    mask[0, 0] = (10, 20, 30)
    return encode(mask)


def _translucent_mask() -> bytes:
    mask = np.dstack([box_mask()] * 3 + [np.full((96, 128), 255, np.uint8)])
    mask[5, 5, 3] = 128
    return encode(mask)


def _half_jpeg() -> bytes:
    data = encode(PHOTO, "JPEG")
    return data[: len(data) // 2]


def _huge_png_header() -> bytes:
    """Only a PNG header claiming 30000x30000 px: a decompression bomb must be refused, not decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IEND", b"")


def _raw_over_16mb() -> bytes:
    return b'{"req_key": "i2i_inpainting", "pad": "' + b"a" * (16 * MIB) + b'"}'


VALIDATION_CASES = {
    "not-json": (lambda: b"{not json", 50204, "JSON"),
    "json-not-object": (lambda: b"[1, 2]", 50204, "object"),
    "missing-req_key": (lambda: _without("req_key"), 50201, "req_key"),
    "unknown-req_key": (lambda: _with(req_key="img2img_anything"), 50400, "req_key"),
    "saliency-on-inpainting-action": (lambda: _with(req_key="saliency_seg"), 50400, "req_key"),
    "no-images": (lambda: _without("binary_data_base64"), 50201, "binary_data_base64"),
    "empty-image-list": (lambda: _with(binary_data_base64=[]), 50201, "binary_data_base64"),
    "image_urls": (lambda: {"req_key": "i2i_inpainting", "image_urls": ["https://a/i.jpg", "https://a/m.png"]},
                   50200, "image_urls"),
    "one-image": (lambda: _with(binary_data_base64=[b64(IMAGE)]), 50200, "exactly 2"),
    "three-images": (lambda: _with(binary_data_base64=[b64(IMAGE)] * 3), 50200, "exactly 2"),
    "not-strings": (lambda: _with(binary_data_base64=[1, 2]), 50200, "base64"),
    "data-prefix": (lambda: _with(binary_data_base64=["data:image/png;base64," + b64(IMAGE), b64(MASK)]), 50207,
                    "prefix"),
    "bad-base64": (lambda: _with(binary_data_base64=["%%%not base64", b64(MASK)]), 50207, "base64"),
    "empty-image": (lambda: _with(binary_data_base64=["", b64(MASK)]), 50206, "empty"),
    "empty-mask": (lambda: _with(binary_data_base64=[b64(IMAGE), ""]), 50206, "mask"),
    "image-over-5mb": (lambda: body(image=b"\xff" * (5 * MIB + 1)), 50205, "5 MB"),
    "body-over-16mb": (_raw_over_16mb, 50213, "16 MB"),
    "gif": (lambda: body(image=encode(PHOTO, "GIF")), 50215, "GIF"),
    "not-an-image": (lambda: body(image=b"hello, not an image"), 50215, "decodable"),
    "truncated-jpeg": (lambda: body(image=_half_jpeg()), 50215, "truncated"),
    "too-small": (lambda: body(image=encode(photo(63, 96)), mask=encode(box_mask(63, 96))), 50215, "63x96"),
    "too-large": (lambda: body(image=encode(photo(4097, 64)), mask=encode(box_mask(4097, 64))), 50215, "4097x64"),
    "huge-dimensions": (lambda: body(image=_huge_png_header()), 50215, "4096"),
    "mask-jpeg": (lambda: body(mask=encode(box_mask(), "JPEG")), 50215, "mask"),
    "mask-colour": (lambda: body(mask=_colour_mask()), 50215, "grey"),
    "mask-translucent": (lambda: body(mask=_translucent_mask()), 50215, "alpha"),
    "mask-icc": (lambda: body(mask=_icc_mask()), 50215, "ICC"),
    "mask-16-bit": (lambda: body(mask=encode(box_mask().astype(np.uint16) * 257)), 50215, "8-bit"),
    "mask-1-bit": (lambda: body(mask=encode(Image.fromarray(box_mask()).convert("1"))), 50215, "8-bit"),
    "mask-size": (lambda: body(mask=encode(box_mask(128, 97))), 50215, "differs"),
}
BAD_PARAMS = [("steps", 0), ("steps", 51), ("steps", 12.0), ("steps", "30"), ("steps", True),
              ("strength", 0.05), ("strength", 1.01), ("strength", "0.8"), ("scale", 0.9), ("scale", 20.5),
              ("seed", -2), ("seed", 1.5), ("dilate_size", -1), ("dilate_size", 101), ("quality", "X"),
              ("quality", "m"), ("return_url", "true"), ("return_url", 1), ("logo_info", "x"),
              ("logo_info", {"add_logo": "yes"}), ("logo_info", {"position": 4}), ("logo_info", {"language": 2}),
              ("logo_info", {"opacity": 1.5}), ("logo_info", {"logo_text_content": 5})]


@pytest.mark.parametrize("case", sorted(VALIDATION_CASES))
def test_body_validation_codes(sb, case):
    make, code, word = VALIDATION_CASES[case]
    assert_service_error(post(sb, make()), code, 400, word)
    (seen,) = sb.requests
    assert seen.code == code and seen.http_status == 400 and seen.signed


@pytest.mark.parametrize("name,value", BAD_PARAMS, ids=[f"{n}={v!r}" for n, v in BAD_PARAMS])
def test_parameter_out_of_range_or_wrong_type_is_50200(sb, name, value):
    assert_service_error(post(sb, body(**{name: value})), 50200, 400, name)


def test_parameter_edges_and_grey_mask_variants_are_accepted(sb):
    logo = {"add_logo": True, "position": 3, "language": 1, "opacity": 0.0, "logo_text_content": "demo"}
    for params in [dict(steps=1, strength=0.1, scale=1, seed=-1, dilate_size=0, quality="H"),
                   dict(steps=50, strength=1.0, scale=20.0, seed=2**40, dilate_size=100, quality="L"),
                   dict(logo_info=logo, return_url=False, quality="M", seed=None)]:
        assert post(sb, body(**params)).json()["code"] == 10000, params
    opaque = np.dstack([box_mask()] * 3 + [np.full((96, 128), 255, np.uint8)])
    for mask in (encode(np.dstack([box_mask()] * 3)), encode(opaque)):
        assert post(sb, body(mask=mask)).json()["code"] == 10000
    assert post(sb, body(image=encode(PHOTO, "JPEG"))).json()["code"] == 10000


# --- saliency ------------------------------------------------------------------------------------------------------

def test_saliency_mask_is_full_size_grey_png_covering_the_subject(sb):
    scene, truth = subject_scene()
    response = post(sb, saliency_body(encode(scene, "JPEG", quality=92), only_mask=1, rgb=[-1, -1, -1]), CV)
    assert response.status_code == 200 and response.json()["code"] == 10000
    mask_image = result_image(response)
    assert mask_image.format == "PNG" and mask_image.mode == "L" and mask_image.size == (256, 192)
    mask = np.asarray(mask_image) > 127
    assert set(np.unique(np.asarray(mask_image))) <= {0, 255}  # refine_mask 0: hard edge
    assert (mask & truth).sum() / (mask | truth).sum() > 0.9
    assert sb.requests[0].req_key == "saliency_seg" and sb.requests[0].images[0].format == "JPEG"


def test_saliency_refine_softens_and_plain_image_falls_back_to_centred_ellipse(sb):
    scene, _ = subject_scene()
    soft = np.asarray(result_image(post(sb, saliency_body(encode(scene), only_mask=1, refine_mask=2), CV)))
    assert ((soft > 0) & (soft < 255)).sum() > 100
    plain = np.full((150, 200, 3), 128, np.uint8)
    mask = np.asarray(result_image(post(sb, saliency_body(encode(plain, "BMP"), only_mask=1), CV)))
    assert mask[75, 100] == 255 and mask[0, 0] == mask[-1, -1] == 0 and 0.15 < (mask > 127).mean() < 0.6


def test_saliency_other_outputs(sb):
    scene, truth = subject_scene()
    rgba = result_image(post(sb, saliency_body(encode(scene), only_mask=3), CV))
    assert rgba.mode == "RGBA" and rgba.size == (256, 192)
    alpha = np.asarray(rgba)[..., 3] > 127
    assert (alpha & truth).sum() / (alpha | truth).sum() > 0.9
    cut = result_image(post(sb, saliency_body(encode(scene), only_mask=0), CV))
    assert cut.mode == "RGBA" and abs(cut.width - 100) <= 4 and abs(cut.height - 80) <= 4
    both = post(sb, saliency_body(encode(scene), only_mask=4), CV)
    assert len(both.json()["data"]["binary_data_base64"]) == 2 and result_image(both, 1).mode == "L"


SALIENCY_ERRORS = {
    "too-small": (lambda: saliency_body(encode(np.zeros((100, 150, 3), np.uint8))), 50215, "100"),
    "gif": (lambda: saliency_body(encode(np.zeros((200, 200, 3), np.uint8), "GIF")), 50215, "GIF"),
    "base64-over-4.7mb": (lambda: {"req_key": "saliency_seg", "binary_data_base64": ["A" * int(4.8 * MIB)]},
                          50205, "4.7 MB"),
    "two-images": (lambda: {"req_key": "saliency_seg", "binary_data_base64": [b64(IMAGE)] * 2}, 50200, "exactly 1"),
    "only_mask-5": (lambda: saliency_body(encode(subject_scene()[0]), only_mask=5), 50200, "only_mask"),
    "refine_mask-3": (lambda: saliency_body(encode(subject_scene()[0]), refine_mask=3), 50200, "refine_mask"),
    "rgb-wrong": (lambda: saliency_body(encode(subject_scene()[0]), rgb=[0, 0]), 50200, "rgb"),
}


@pytest.mark.parametrize("case", sorted(SALIENCY_ERRORS))
def test_saliency_validation(sb, case):
    make, code, word = SALIENCY_ERRORS[case]
    assert_service_error(post(sb, make(), CV), code, 400, word)


# --- faults --------------------------------------------------------------------------------------------------------

def timed(sb, payload=None, action=INPAINT):
    started = time.monotonic()
    response = post(sb, payload or body(), action)
    return response, time.monotonic() - started


def test_latency_fault_delays_each_application_then_answers_normally(sb):
    sb.inject(Fault("latency", seconds=0.3, times=2))
    for _ in range(2):
        response, took = timed(sb)
        assert response.json()["code"] == 10000 and took >= 0.3
    response, took = timed(sb)
    assert response.json()["code"] == 10000 and took < 0.25 and sb.pending_faults() == 0


@pytest.mark.parametrize("code,status", [(50429, 429), (50430, 429), (50500, 500), (50501, 500), (50411, 400),
                                         (50511, 400), (50400, 400), (50200, 400)])
def test_error_fault_uses_the_status_table(sb, code, status):
    sb.inject(Fault("error", code=code))
    assert_service_error(post(sb, body()), code, status)
    assert sb.requests[-1].code == code and sb.pending_faults() == 0


def test_fault_times_and_fifo_order(sb):
    sb.inject(Fault("error", code=50429, times=2), Fault("error", code=50500))
    assert sb.pending_faults() == 3
    codes = [post(sb, body()).json()["code"] for _ in range(4)]
    assert codes == [50429, 50429, 50500, 10000] and sb.pending_faults() == 0


def test_fault_with_action_only_matches_that_req_key(sb):
    sb.inject(Fault("error", code=50500, action="saliency_seg"))
    assert post(sb, body()).json()["code"] == 10000 and sb.pending_faults() == 1
    scene, _ = subject_scene()
    assert post(sb, saliency_body(encode(scene), only_mask=1), CV).json()["code"] == 50500
    assert sb.pending_faults() == 0


def test_validation_and_auth_failures_do_not_consume_faults_but_reset_comes_first(sb):
    sb.inject(Fault("error", code=50430))
    assert post(sb, _without("req_key")).json()["code"] == 50201
    assert post(sb, body(), sk="wrong").status_code == 401
    assert CLIENT.get(f"{sb.endpoint}/results/nothing.jpg").status_code == 404
    assert sb.pending_faults() == 1
    assert post(sb, body()).json()["code"] == 50430
    sb.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(sb, b"not even json")  # reset applies before validation
    assert sb.pending_faults() == 0


@pytest.mark.parametrize("shape", ["code", "algorithm", "message"])
def test_ghost_face_shapes(sb, shape):
    sb.inject(Fault("ghost_face", shape=shape))
    response = post(sb, body())
    answer = response.json()
    if shape == "code":
        assert response.status_code == 400 and answer["code"] == 201304 and answer["message"]
    elif shape == "algorithm":
        assert response.status_code == 500 and answer["code"] == 50501
        assert answer["data"]["algorithm_base_resp"]["status_code"] == 201304
    else:
        assert response.status_code == 500 and answer["code"] == 50500 and "201304" in answer["message"]
    assert post(sb, body()).json()["code"] == 10000


@pytest.mark.parametrize("code,code_n,status", [("AccessDenied", 100013, 403), ("LackPolicy", 100012, 403),
                                                ("SignatureDoesNotMatch", 100010, 401),
                                                ("ServiceNotFound", 100007, 404), ("InvalidTimestamp", 100006, 400),
                                                ("MissingParameter", 100002, 400)])
def test_gateway_fault(sb, code, code_n, status):
    sb.inject(Fault("gateway", code=code))
    assert_gateway(post(sb, body()), code, code_n, status)
    assert sb.requests[-1].code == code and sb.count() == 1


def test_reset_fault_closes_without_answer(sb):
    sb.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(sb, body())
    (seen,) = sb.requests
    assert seen.http_status is None and seen.code is None and seen.body_size > 0
    assert post(sb, body()).json()["code"] == 10000


def test_reset_is_a_tcp_reset_not_a_clean_close(sb):
    sb.inject(Fault("reset"))
    url = f"{sb.endpoint}/?Action=Img2ImgInpainting&Version=2022-08-31"
    raw = json.dumps(body()).encode()
    headers = sign_request("POST", url, {"Content-Type": "application/json"}, raw, SANDBOX_ACCESS_KEY,
                           SANDBOX_SECRET_KEY)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST {url[len(sb.endpoint):]} HTTP/1.1\r\n{head}Content-Length: {len(raw)}\r\n\r\n"
    address = urlsplit(sb.endpoint)
    with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
        conn.sendall(request.encode() + raw)
        with pytest.raises(ConnectionResetError):  # a clean close would return b"" instead
            while conn.recv(65536):
                pass


def test_truncated_json_fault(sb):
    sb.inject(Fault("truncated_json"))
    response = post(sb, body())
    assert response.status_code == 200 and response.text.startswith('{"code":10000')
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_bad_base64_fault(sb):
    sb.inject(Fault("bad_base64"))
    response = post(sb, body())
    text = response.json()["data"]["binary_data_base64"][0]
    assert response.status_code == 200
    for strict in (True, False):
        with pytest.raises(ValueError):
            base64.b64decode(text, validate=strict)


def test_wrong_size_fault(sb):
    sb.inject(Fault("wrong_size"))
    assert result_image(post(sb, body())).size == (64, 48)


def test_expired_url_fault_gives_only_a_dead_url(sb):
    sb.inject(Fault("expired_url"))
    data = post(sb, body()).json()["data"]
    assert data["binary_data_base64"] == [] and data["image_urls"][0].startswith(sb.endpoint + "/results/")
    assert CLIENT.get(data["image_urls"][0]).status_code == 404


def test_empty_mask_fault_only_applies_to_saliency(sb):
    sb.inject(Fault("empty_mask"))
    assert post(sb, body()).json()["code"] == 10000 and sb.pending_faults() == 1
    scene, _ = subject_scene()
    mask = np.asarray(result_image(post(sb, saliency_body(encode(scene), only_mask=1), CV)))
    assert mask.shape == (192, 256) and not mask.any()


def test_invalid_faults_are_refused():
    for kwargs in (dict(kind="explode"), dict(kind="error", times=0), dict(kind="gateway", code="Nope"),
                   dict(kind="ghost_face", shape="face"), dict(kind="error", code="50429")):
        with pytest.raises(ValueError):
            Fault(**kwargs)


# --- return_url, records, STS --------------------------------------------------------------------------------------

def test_return_url_serves_the_same_jpeg_unsigned(sb):
    data = post(sb, body(return_url=True)).json()["data"]
    url = data["image_urls"][0]
    assert re.fullmatch(re.escape(sb.endpoint) + r"/results/[0-9a-f]+\.jpg", url)
    download = CLIENT.get(url)
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    assert download.content == base64.b64decode(data["binary_data_base64"][0])
    assert sb.count() == 1 and sb.downloads == [(url[len(sb.endpoint):], 200)]
    other = CLIENT.get(f"{sb.endpoint}/?Action=Img2ImgInpainting&Version=2022-08-31")
    assert other.status_code == 404 and other.json()["ResponseMetadata"]["Error"]["CodeN"] == 100008


def test_records_describe_the_request_without_any_secret(sb):
    token = "sts-token-EXAMPLE-do-not-record"
    ok = post(sb, body(seed=3, logo_info={"add_logo": True}), token=token)
    assert ok.json()["code"] == 10000
    post(sb, body(), sk="another-secret-EXAMPLE")
    sb.inject(Fault("reset"))
    with pytest.raises(httpx.TransportError):
        post(sb, body(), token=token)
    records = sb.requests
    assert len(records) == 3 and [r.http_status for r in records] == [200, 401, None]
    first = records[0]
    assert first.has_session_token and first.signed and first.params == {
        "req_key": "i2i_inpainting", "seed": 3, "logo_info": {"add_logo": True}}
    assert [(i.format, i.width, i.height, i.mode, i.has_icc) for i in first.images] == [
        ("PNG", 128, 96, "RGB", False), ("PNG", 128, 96, "L", False)]
    assert first.images[0].byte_size == len(IMAGE) and first.body_size > len(IMAGE)
    assert {k.lower() for k in first.headers} >= {"host", "x-date", "x-content-sha256"}
    assert not {k.lower() for k in first.headers} & {"authorization", "x-security-token"}
    text = repr(records)
    for secret in (SANDBOX_SECRET_KEY, "another-secret-EXAMPLE", token, "Signature=", "HMAC-SHA256"):
        assert secret not in text


def test_session_token_must_be_signed(sb):
    def add_token_after_signing(headers, raw):
        headers["X-Security-Token"] = "late-token"
        return raw

    assert_gateway(post(sb, body(), edit=add_token_after_signing), "SignatureDoesNotMatch", 100010, 401)
    assert sb.requests[0].has_session_token and not sb.requests[0].signed


def test_count_and_clear(sb):
    scene, _ = subject_scene()
    post(sb, body())
    post(sb, saliency_body(encode(scene), only_mask=1), CV)
    post(sb, b"junk")
    assert (sb.count(), sb.count("i2i_inpainting"), sb.count("saliency_seg")) == (3, 1, 1)
    sb.inject(Fault("latency", times=3))
    sb.clear()
    assert sb.count() == 0 and sb.requests == [] and sb.pending_faults() == 0


# --- concurrency and lifecycle -------------------------------------------------------------------------------------

def test_requests_are_served_in_parallel(sb):
    sb.inject(Fault("latency", seconds=0.5, times=4))
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(post(sb, body()).json()["code"])) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [10000] * 4 and time.monotonic() - started < 1.5  # serially it would take 2 s


def test_only_loopback_hosts_are_allowed():
    for host in ("0.0.0.0", "192.168.1.20", "example.com", ""):
        with pytest.raises(ValueError):
            Sandbox(host=host)


def test_start_and_stop_are_quick_and_release_the_port():
    started = time.monotonic()
    for _ in range(5):
        with Sandbox() as sb:
            endpoint = sb.endpoint
            assert post(sb, b"{}").status_code == 400
        with pytest.raises(httpx.ConnectError):
            httpx.get(endpoint + "/results/x.jpg", timeout=2, trust_env=False)
        with pytest.raises(RuntimeError):
            _ = sb.endpoint
    assert time.monotonic() - started < 3


def test_stop_does_not_wait_for_a_sleeping_latency_fault():
    sb = Sandbox().start()
    sb.inject(Fault("latency", seconds=10))
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_try_post(sb)))
    worker.start()
    deadline = time.monotonic() + 5
    while sb.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    sb.stop()
    worker.join(timeout=5)
    assert time.monotonic() - started < 1.5 and not worker.is_alive() and outcome


def _try_post(sb):
    try:
        return post(sb, body(), timeout=15).status_code
    except httpx.TransportError as exc:
        return type(exc).__name__


def test_cli_prints_the_export_line_and_serves():
    process = subprocess.Popen([sys.executable, "-m", "utils.sandbox", "--port", "0", "--fault", "error:50429"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        found = None
        deadline = time.monotonic() + 15
        while found is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                assert process.poll() is None, "the CLI exited early"
                continue
            found = re.match(r"export VOLC_VISUAL_ENDPOINT=(\S+) VOLC_ACCESSKEY=(\S+) VOLC_SECRETKEY=(\S+)$",
                             line.strip())
        assert found, "no export line printed"
        endpoint, ak, sk = found.groups()
        assert (ak, sk) == (SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY)

        class Remote:  # post() only needs .endpoint
            pass

        Remote.endpoint = endpoint
        assert post(Remote, body(), ak=ak, sk=sk).status_code == 429  # the --fault was queued
        assert post(Remote, body(), ak=ak, sk=sk).json()["code"] == 10000
    finally:
        process.terminate()
        process.wait(timeout=5)
