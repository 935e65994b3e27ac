"""Shared helpers and fixtures of the stand-in tests (test_standin*.py import them with *)."""
from __future__ import annotations

import base64
import io
import json
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, StandIn
from volc_pack.utils.api.signing import sign_request

ROOT = Path(__file__).resolve().parents[2]
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


def post(standin: StandIn, payload: dict | bytes, action: tuple[str, str] = INPAINT, *, ak: str = STANDIN_ACCESS_KEY,
         sk: str = STANDIN_SECRET_KEY, token: str | None = None, now: datetime | None = None,
         region: str = "cn-north-1", edit=None, timeout: float = 20) -> httpx.Response:
    url = f"{standin.endpoint}/?Action={action[0]}&Version={action[1]}"
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
    assert STANDIN_SECRET_KEY not in response.text
    return meta


def _with(**changes):
    return {**body(), **changes}


def _without(key):
    payload = body()
    del payload[key]
    return payload
