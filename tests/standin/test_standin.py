"""The stand-in endpoint over real HTTP on loopback: signed success, the fill, and the gateway's checks."""
from __future__ import annotations

import numpy as np
import pytest
from datetime import datetime, timedelta, timezone
from volc_pack.utils.standin import StandIn
from volc_pack.utils.standin.fill import dilate, inpaint
from helpers.standin import CV, PHOTO, assert_gateway, body, box_mask, encode, post, result_image


# --- success and the fill ------------------------------------------------------------------------------------------

def test_signed_request_returns_jpeg_of_input_size_changing_only_the_hole(standin):
    response = post(standin, body(seed=5, dilate_size=3))
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
    (seen,) = standin.requests
    assert (seen.http_status, seen.code, seen.signed, seen.req_key) == (200, 10000, True, "i2i_inpainting")


def test_same_seed_gives_identical_bytes_and_other_seeds_differ(standin):
    first, again = (post(standin, body(seed=7)).json()["data"]["binary_data_base64"][0] for _ in range(2))
    other = post(standin, body(seed=8)).json()["data"]["binary_data_base64"][0]
    assert first == again and first != other
    randoms = {post(standin, body(seed=-1)).json()["data"]["binary_data_base64"][0] for _ in range(2)}
    assert len(randoms) == 2


def test_dilate_size_grows_the_erased_area(standin):
    image = PHOTO.copy()
    image[14:58, 22:74] = 255  # the white block reaches 10 px beyond the mask on every side ...
    ring = np.zeros((96, 128), bool)
    ring[14:58, 22:74] = True
    ring[20:52, 28:68] = False  # ... and `ring` is its outer 6 px
    for dilate_size, erased in ((0, False), (10, True)):
        out = np.asarray(result_image(post(standin, body(image=encode(image), dilate_size=dilate_size))), np.float32)
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


def test_largest_image_is_served_quickly(standin):
    ramp = (np.arange(4096) // 16).astype(np.uint8)
    big = np.empty((4096, 4096, 3), np.uint8)
    big[..., 0], big[..., 1], big[..., 2] = ramp[None, :], ramp[:, None], 90
    mask = np.zeros((4096, 4096), np.uint8)
    mask[1024:3072, 1024:3072] = 255
    payload = body(encode(big, "JPEG", quality=80), encode(mask, compress_level=1))
    response = post(standin, payload, timeout=60)  # its speed is a benchmark matter, not asserted here
    assert response.status_code == 200 and result_image(response).size == (4096, 4096)


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
def test_gateway_rejects_bad_authentication(standin, case):
    kwargs, code, code_n, status = GATEWAY_CASES[case]
    meta = assert_gateway(post(standin, body(), **kwargs), code, code_n, status)
    assert "AKLTunknownEXAMPLEkeyZ9Q8" not in meta["Error"]["Message"]
    (seen,) = standin.requests
    assert seen.code == code and seen.http_status == status and not seen.signed


def test_gateway_messages_name_the_problem(standin):
    unknown = post(standin, body(), ak="AKLTunknownEXAMPLEkeyZ9Q8").json()
    assert "Z9Q8" in unknown["ResponseMetadata"]["Error"]["Message"]
    changed = post(standin, body(), edit=lambda h, raw: raw + b" ").json()["ResponseMetadata"]["Error"]["Message"]
    assert "X-Content-Sha256" in changed
    unsigned = post(standin, body(), edit=_unsign_host).json()["ResponseMetadata"]["Error"]["Message"]
    assert "host" in unsigned


def test_clock_skew_limit_is_configurable():
    with StandIn(max_skew_seconds=5) as strict:
        late = datetime.now(timezone.utc) - timedelta(seconds=30)
        assert_gateway(post(strict, body(), now=late), "InvalidTimestamp", 100006, 400)
    with StandIn() as default:
        assert post(default, body(), now=late).status_code == 200


@pytest.mark.parametrize("action", [("Foo", "2022-08-31"), ("Img2ImgInpainting", "2020-08-26"), ("", "")])
def test_unknown_action_or_version_is_404(standin, action):
    assert_gateway(post(standin, body(), action), "InvalidActionOrVersion", 100008, 404, action)


def test_cvprocess_serves_inpainting_too(standin):
    assert post(standin, body(), CV).json()["code"] == 10000
