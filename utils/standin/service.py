"""Gateway authentication, the two response shapes and the two jobs (inpainting, saliency) of the stand-in endpoint.

Shapes and status codes follow the project's reference notes on the Volcengine visual API; nothing here does I/O.
"""
from __future__ import annotations

import hashlib
import io
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
from PIL import Image

from . import variations
from .checks import ImageInfo, InpaintJob, SaliencyJob, build_inpaint, build_saliency, to_rgb
from .entities import EntityJob, build_entity, run_entity
from .fill import dilate, inpaint, saliency_mask
from ..api.signing import DATE_FORMAT, parse_authorization, verify_request

SERVICE = "cv"
REGION = "cn-north-1"
API_VERSION = "2022-08-31"
# (Action, Version) -> the req_keys it serves.
ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("Img2ImgInpainting", API_VERSION): ("i2i_inpainting",),
    ("CVProcess", API_VERSION): ("i2i_inpainting", "saliency_seg", "entity_seg"),
    ("EntitySegment", API_VERSION): ("entity_seg",),
}
# Gateway Code -> (CodeN, HTTP status), from the reference table.
GATEWAY_CODES: dict[str, tuple[int, int]] = {
    "MissingParameter": (100002, 400), "MissingAuthenticationToken": (100003, 401),
    "MissingRequestInfo": (100004, 400), "MissingSignature": (100005, 401), "InvalidTimestamp": (100006, 400),
    "ServiceNotFound": (100007, 404), "InvalidActionOrVersion": (100008, 404), "InvalidAccessKey": (100009, 401),
    "SignatureDoesNotMatch": (100010, 401), "LackPolicy": (100012, 403), "AccessDenied": (100013, 403),
}
SERVICE_MESSAGES: dict[int, str] = {
    50200: "Request Invalid Args", 50201: "Request Missing Args", 50204: "Request Args Unparsable",
    50205: "Image Too Large", 50206: "Image Empty", 50207: "Image Decode Error", 50213: "Request Body Too Large",
    50215: "Input Invalid For This Service", 50400: "Access Denied: Internal Error",
    50411: "Pre Img Risk Not Pass", 50412: "Pre Text Risk Not Pass", 50413: "Text NER/IP/Blocklist Not Pass",
    50429: "Request Has Reached API Limit, Please Try Later",
    50430: "Request Has Reached API Concurrent Limit, Please Try Later",
    50500: "Internal Error", 50501: "Internal RPC Error", 50511: "Post Img Risk Not Pass",
    50512: "Post Text Risk Not Pass", 50518: "Pre Img Risk Not Pass: Copyright",
    50519: "Post Img Risk Not Pass: Copyright", 50520: "Risk Internal Error", 50521: "Antidirt Internal Error",
    50522: "Image Copyright Internal Error", 201304: "AI ghost face detected",
}
REQUIRED_SIGNED = ("host", "x-date", "x-content-sha256")
JPEG_QUALITY = {"H": 95, "M": 92, "L": 85}


class GatewayError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def service_status(code: int) -> int:
    """HTTP status for a service code: 429 for the limits, 500 for 5050x, 400 otherwise (50400 too)."""
    if code in (50429, 50430):
        return 429
    if 50500 <= code <= 50509:
        return 500
    return 400


def mask_key(access_key: str) -> str:
    """An access key as it may appear in a message: only its last four characters."""
    return f"ending in '{access_key[-4:]}'" if len(access_key) >= 8 else "given"


def authenticate(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
                 keys: Mapping[str, str], max_skew: int, now: datetime | None = None) -> str:
    """The access key of a correctly signed request; GatewayError otherwise. Messages never carry secrets."""
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("authorization")
    if not value:
        raise GatewayError("MissingAuthenticationToken", "The request has no Authorization header")
    auth = parse_authorization(value)
    if auth is None:
        raise GatewayError("MissingSignature", "The Authorization header is not a well-formed HMAC-SHA256 "
                                               "'Credential=..., SignedHeaders=..., Signature=...' value")
    secret = keys.get(auth.access_key)
    if secret is None:
        raise GatewayError("InvalidAccessKey", f"The access key {mask_key(auth.access_key)} is not valid")
    _check_timestamp(lower.get("x-date", ""), max_skew, now)
    missing = [h for h in REQUIRED_SIGNED if h not in auth.signed_headers]
    if "x-security-token" in lower and "x-security-token" not in auth.signed_headers:
        missing.append("x-security-token")
    if missing:
        raise GatewayError("SignatureDoesNotMatch", f"SignedHeaders must include {', '.join(missing)}")
    if (auth.region, auth.service) != (REGION, SERVICE):
        raise GatewayError("SignatureDoesNotMatch", f"Credential scope must be <date>/{REGION}/{SERVICE}/request, "
                                                    f"got region {auth.region!r} and service {auth.service!r}")
    if not verify_request(method, path, query, headers, body, auth, secret):
        raise GatewayError("SignatureDoesNotMatch", _mismatch_reason(lower, body, auth.short_date))
    return auth.access_key


def _check_timestamp(x_date: str, max_skew: int, now: datetime | None) -> None:
    try:
        sent = datetime.strptime(x_date, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise GatewayError("InvalidTimestamp", "X-Date is missing or not formatted as YYYYMMDDTHHMMSSZ") from None
    skew = abs(((now or datetime.now(timezone.utc)) - sent).total_seconds())
    if skew > max_skew:
        raise GatewayError("InvalidTimestamp", f"X-Date {x_date} is {int(skew)} s away from the server time "
                                               f"(at most {max_skew} s allowed): check the system clock")


def _mismatch_reason(lower: Mapping[str, str], body: bytes, short_date: str) -> str:
    if lower.get("x-content-sha256") != hashlib.sha256(body).hexdigest():
        return "X-Content-Sha256 is not the SHA-256 of the body that arrived"
    if not lower.get("x-date", "").startswith(short_date):
        return "The Credential date does not match X-Date"
    return ("The request signature we calculated does not match the signature you provided. "
            "Check your Secret Access Key and signing method.")


def route(action: str, version: str) -> tuple[str, ...]:
    allowed = ROUTES.get((action, version))
    if allowed is None:
        raise GatewayError("InvalidActionOrVersion", f"Action {action[:64]!r} with Version {version[:32]!r} "
                                                     f"is not served here")
    return allowed


# --- response bodies -----------------------------------------------------------------------------------------------

def elapsed_text(seconds: float) -> str:
    """A Go-style duration string, as the service's time_elapsed field."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.6f}ms"
    return f"{seconds:.9f}s"


def gateway_body(code: str, message: str, request_id: str, action: str, version: str,
                 status: int | None = None) -> tuple[int, bytes]:
    """A gateway error; a code outside GATEWAY_CODES (a throttle, an outage) needs its `status` and has no CodeN."""
    code_n, known_status = GATEWAY_CODES.get(code, (None, 400))
    error = {"CodeN": code_n, "Code": code, "Message": message} if code_n else {"Code": code, "Message": message}
    meta = {"RequestId": request_id, "Action": action, "Version": version, "Service": SERVICE, "Region": REGION,
            "Error": error}
    return status or known_status, dump({"ResponseMetadata": meta})


def service_body(code: int, message: str | None, request_id: str, elapsed: float, *,
                 data: dict[str, Any] | None = None, status: int | None = None) -> tuple[int, bytes]:
    text = message or SERVICE_MESSAGES.get(code, "Error")
    answer = {"code": code, "data": data, "message": text, "request_id": request_id, "status": code,
              "time_elapsed": elapsed_text(elapsed)}
    return status or service_status(code), dump(answer)


def success_answer(images: list[str], urls: list[str] | None, request_id: str, elapsed: float,
                   fields: dict[str, Any] | None = None) -> dict[str, Any]:
    data = {"algorithm_base_resp": {"status_code": 0, "status_message": "Success"}, "binary_data_base64": images,
            "image_urls": urls, "request_id": request_id, **(fields or {})}
    return {"code": 10000, "data": data, "message": "Success", "request_id": request_id, "status": 10000,
            "time_elapsed": elapsed_text(elapsed)}


def success_body(images: list[str], urls: list[str] | None, request_id: str, elapsed: float) -> bytes:
    return dump(success_answer(images, urls, request_id, elapsed))


def dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- the jobs ------------------------------------------------------------------------------------------------------

BUILDERS = {"i2i_inpainting": build_inpaint, "saliency_seg": build_saliency, "entity_seg": build_entity}


def build_job(req_key: str, body: dict[str, Any], infos: list[ImageInfo]) -> Any:
    """The validated job for a req_key (ApiError when the body is not acceptable)."""
    return BUILDERS[req_key](body, infos)


def run_job(job: Any, *, empty: bool = False, drift: bool = False) -> tuple[list[bytes], bool, dict[str, Any]]:
    """(result files, whether a URL was asked for, extra data fields); `empty`: the "empty_mask" fault, `drift`
    the "seam_drift" one."""
    if isinstance(job, InpaintJob):
        return [run_inpaint(job, drift=drift)], job.params["return_url"], {}
    if isinstance(job, EntityJob):
        images, fields = run_entity(job, empty=empty)
        return [encode(image, "PNG") for image in images], False, fields
    return run_saliency(job, empty=empty), job.return_url, {}


def run_inpaint(job: InpaintJob, *, drift: bool = False) -> bytes:
    """The erased image as JPEG, the input's size, with the logo_info mark in its corner; seed -1 draws a fresh
    seed. drift: the "seam_drift" fault (see variations.py)."""
    params = job.params
    seed = params["seed"] if params["seed"] >= 0 else secrets.randbits(32)
    hole = (variations.beyond_round if drift else dilate)(job.mask, params["dilate_size"])
    pixels = inpaint(to_rgb(job.image), hole, seed, params["strength"])
    result = Image.fromarray(variations.shift_colours(pixels) if drift else pixels, "RGB")
    logo = params.get("logo_info")
    if logo and logo["add_logo"]:
        variations.stamp_logo(result, logo)
    return encode(result, "JPEG", JPEG_QUALITY[params["quality"]])


def run_saliency(job: SaliencyJob, *, empty: bool = False) -> list[bytes]:
    """PNG outputs by only_mask: 0 cropped RGBA cut-out, 1 mask, 2 cropped on solid rgb, 3 RGBA, 4 RGBA + mask."""
    width, height = job.image.size
    mask = np.zeros((height, width), np.uint8) if empty else saliency_mask(job.image, job.refine_mask)
    mask_image = Image.fromarray(mask, "L")
    if job.only_mask == 1:
        return [encode(mask_image, "PNG")]
    # Pillow writes RGBA; the docs' "BGRA" is OpenCV's name for the same PNG once decoded by OpenCV.
    rgba = Image.fromarray(np.dstack([to_rgb(job.image), mask]), "RGBA")
    if job.only_mask == 3:
        return [encode(rgba, "PNG")]
    if job.only_mask == 4:
        return [encode(rgba, "PNG"), encode(mask_image, "PNG")]
    cut = rgba.crop(mask_image.getbbox() or (0, 0, width, height))
    if job.only_mask == 2 and job.rgb != (-1, -1, -1):
        solid = Image.new("RGBA", cut.size, tuple(max(v, 0) for v in job.rgb) + (255,))
        cut = Image.alpha_composite(solid, cut).convert("RGB")
    return [encode(cut, "PNG")]


def encode(image: Image.Image, fmt: str, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "PNG", compress_level=1)  # speed over size: a 4096 px mask stays quick
    return buffer.getvalue()


def half_size(data: bytes) -> bytes:
    """The same image at half width and height (the 'wrong_size' fault); grey maps nearest-neighbour, since an
    entity index map must keep its labels (a blend of labels 0 and 6 would be a pixel of entity 3)."""
    with Image.open(io.BytesIO(data)) as img:
        fmt = img.format
        resample = Image.Resampling.NEAREST if img.mode in ("L", "P") else Image.Resampling.BICUBIC
        small = img.resize((max(1, img.width // 2), max(1, img.height // 2)), resample)
    return encode(small, fmt)


def as_jpeg(data: bytes) -> bytes:
    """URL results are JPEG only (no alpha), as the docs say for the real service."""
    with Image.open(io.BytesIO(data)) as img:
        if img.format == "JPEG":
            return data
        return encode(img.convert("L" if img.mode == "L" else "RGB"), "JPEG")
