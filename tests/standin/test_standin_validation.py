"""The stand-in's body validation codes and its saliency segmentation."""
from __future__ import annotations

import numpy as np
import pytest
import struct
import zlib
from PIL import Image, ImageCms
from helpers.standin import (CV, IMAGE, MASK, MIB, PHOTO, _with, _without, assert_gateway, assert_service_error, b64,
                             body, box_mask, encode, photo, post, result_image, saliency_body, subject_scene)


# --- validation ----------------------------------------------------------------------------------------------------


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
    "image-over-5mb": (lambda: body(image=b"\xff" * 3_750_001), 50205, "5,000,000"),  # 5,000,004 characters
    "mask-over-5mb": (lambda: body(mask=b"\xff" * 3_750_001), 50205, "mask is too large"),
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
def test_body_validation_codes(standin, case):
    make, code, word = VALIDATION_CASES[case]
    assert_service_error(post(standin, make()), code, 400, word)
    (seen,) = standin.requests
    assert seen.code == code and seen.http_status == 400 and seen.signed


@pytest.mark.parametrize("name,value", BAD_PARAMS, ids=[f"{n}={v!r}" for n, v in BAD_PARAMS])
def test_parameter_out_of_range_or_wrong_type_is_50200(standin, name, value):
    assert_service_error(post(standin, body(**{name: value})), 50200, 400, name)


def test_parameter_edges_and_grey_mask_variants_are_accepted(standin):
    logo = {"add_logo": True, "position": 3, "language": 1, "opacity": 0.0, "logo_text_content": "demo"}
    for params in [dict(steps=1, strength=0.1, scale=1, seed=-1, dilate_size=0, quality="H"),
                   dict(steps=50, strength=1.0, scale=20.0, seed=2**40, dilate_size=100, quality="L"),
                   dict(logo_info=logo, return_url=False, quality="M", seed=None)]:
        assert post(standin, body(**params)).json()["code"] == 10000, params
    opaque = np.dstack([box_mask()] * 3 + [np.full((96, 128), 255, np.uint8)])
    for mask in (encode(np.dstack([box_mask()] * 3)), encode(opaque)):
        assert post(standin, body(mask=mask)).json()["code"] == 10000
    assert post(standin, body(image=encode(PHOTO, "JPEG"))).json()["code"] == 10000


# --- saliency ------------------------------------------------------------------------------------------------------

def test_saliency_mask_is_full_size_grey_png_covering_the_subject(standin):
    scene, truth = subject_scene()
    response = post(standin, saliency_body(encode(scene, "JPEG", quality=92), only_mask=1, rgb=[-1, -1, -1]), CV)
    assert response.status_code == 200 and response.json()["code"] == 10000
    mask_image = result_image(response)
    assert mask_image.format == "PNG" and mask_image.mode == "L" and mask_image.size == (256, 192)
    mask = np.asarray(mask_image) > 127
    assert set(np.unique(np.asarray(mask_image))) <= {0, 255}  # refine_mask 0: hard edge
    assert (mask & truth).sum() / (mask | truth).sum() > 0.9
    assert standin.requests[0].req_key == "saliency_seg" and standin.requests[0].images[0].format == "JPEG"


def test_saliency_refine_softens_and_plain_image_falls_back_to_centred_ellipse(standin):
    scene, _ = subject_scene()
    soft = np.asarray(result_image(post(standin, saliency_body(encode(scene), only_mask=1, refine_mask=2), CV)))
    assert ((soft > 0) & (soft < 255)).sum() > 100
    plain = np.full((150, 200, 3), 128, np.uint8)
    mask = np.asarray(result_image(post(standin, saliency_body(encode(plain, "BMP"), only_mask=1), CV)))
    assert mask[75, 100] == 255 and mask[0, 0] == mask[-1, -1] == 0 and 0.15 < (mask > 127).mean() < 0.6


def test_saliency_other_outputs(standin):
    scene, truth = subject_scene()
    rgba = result_image(post(standin, saliency_body(encode(scene), only_mask=3), CV))
    assert rgba.mode == "RGBA" and rgba.size == (256, 192)
    alpha = np.asarray(rgba)[..., 3] > 127
    assert (alpha & truth).sum() / (alpha | truth).sum() > 0.9
    cut = result_image(post(standin, saliency_body(encode(scene), only_mask=0), CV))
    assert cut.mode == "RGBA" and abs(cut.width - 100) <= 4 and abs(cut.height - 80) <= 4
    both = post(standin, saliency_body(encode(scene), only_mask=4), CV)
    assert len(both.json()["data"]["binary_data_base64"]) == 2 and result_image(both, 1).mode == "L"


SALIENCY_ERRORS = {
    "too-small": (lambda: saliency_body(encode(np.zeros((100, 150, 3), np.uint8))), 50215, "100"),
    "gif": (lambda: saliency_body(encode(np.zeros((200, 200, 3), np.uint8), "GIF")), 50215, "GIF"),
    "base64-over-4.7mb": (lambda: {"req_key": "saliency_seg", "binary_data_base64": ["A" * 4_700_004]},
                          50205, "4,700,000"),
    "two-images": (lambda: {"req_key": "saliency_seg", "binary_data_base64": [b64(IMAGE)] * 2}, 50200, "exactly 1"),
    "only_mask-5": (lambda: saliency_body(encode(subject_scene()[0]), only_mask=5), 50200, "only_mask"),
    "refine_mask-3": (lambda: saliency_body(encode(subject_scene()[0]), refine_mask=3), 50200, "refine_mask"),
    "rgb-wrong": (lambda: saliency_body(encode(subject_scene()[0]), rgb=[0, 0]), 50200, "rgb"),
}


@pytest.mark.parametrize("case", sorted(SALIENCY_ERRORS))
def test_saliency_validation(standin, case):
    make, code, word = SALIENCY_ERRORS[case]
    assert_service_error(post(standin, make(), CV), code, 400, word)


# --- permission: after authentication, before the body's arguments ------------------------------------------------

def test_permission_is_checked_after_authentication_and_before_the_arguments(standin):
    bare = {"req_key": "i2i_inpainting"}
    assert_service_error(post(standin, bare), 50201, 400, "binary_data_base64")  # permitted: the body is judged
    standin.deny("i2i_inpainting")
    assert_service_error(post(standin, bare), 50400, 400, "no permission for i2i_inpainting")
    assert_service_error(post(standin, _with(steps=999)), 50400, 400)  # a bad argument is not even looked at
    assert_service_error(post(standin, body()), 50400, 400)            # nor is a good request served
    assert_gateway(post(standin, bare, sk="wrong-secret"), "SignatureDoesNotMatch", 100010, 401)
    assert post(standin, saliency_body(encode(subject_scene()[0])), CV).status_code == 200  # other req_keys work
    standin.clear()
    assert_service_error(post(standin, bare), 50201, 400)
