"""Body, parameter and image validation for the stand-in endpoint, mapped to the service's error codes.

Every check raises `ApiError(code, message)`; the message names the field and the problem the way a user can act on.
Ranges the documentation leaves open are chosen here (see INPAINT_RANGES) and documented in the standin module.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

MIB = 1024 * 1024
MAX_BODY_BYTES = 16 * MIB
# The strictest reading of "5 MB" / "base64 4.7Mb": the base64 text of each upload, in characters.
MAX_INPAINT_BASE64 = 5_000_000
MAX_SALIENCY_BASE64 = 4_700_000
INPAINT_SIDES = (64, 4096)
SALIENCY_SIDES = (128, 4096)

# name: (type, low, high, default); bounds inclusive. steps/dilate_size/seed bounds are this stand-in's choice.
INPAINT_RANGES: dict[str, tuple[type, float, float, Any]] = {
    "steps": (int, 1, 50, 30),
    "strength": (float, 0.1, 1.0, 0.8),
    "scale": (float, 1.0, 20.0, 7.0),
    "seed": (int, -1, 2**63 - 1, 0),
    "dilate_size": (int, 0, 100, 15),
}
QUALITIES = ("H", "M", "L")
LOGO_RANGES: dict[str, tuple[type, float, float]] = {
    "position": (int, 0, 3), "language": (int, 0, 1), "opacity": (float, 0.0, 1.0),
}


class ApiError(Exception):
    """A service-shaped error: `code` is the API code, `message` the text sent back."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    format: str | None  # Pillow's name ("JPEG", "PNG", "BMP"); None when Pillow cannot identify the bytes
    width: int
    height: int
    mode: str
    byte_size: int
    has_icc: bool


@dataclass
class InpaintJob:
    image: Image.Image
    mask: np.ndarray  # bool, True = erase (before dilation)
    params: dict[str, Any]


@dataclass
class SaliencyJob:
    image: Image.Image
    only_mask: int = 1
    refine_mask: int = 0
    rgb: tuple[int, int, int] = (255, 255, 255)
    return_url: bool = False


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in the body: 50213 when too large, 50204 when it is not a JSON object."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(50213, f"Request body too large: {len(raw)} bytes, the limit is {MAX_BODY_BYTES} (16 MB)")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(50204, f"Request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(50204, "Request body must be a JSON object")
    return body


def lenient_body(raw: bytes) -> dict[str, Any]:
    """Best-effort parse for recording and fault matching; {} when the body is not a JSON object."""
    try:
        body = json.loads(raw) if len(raw) <= MAX_BODY_BYTES else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def check_req_key(body: dict[str, Any], allowed: tuple[str, ...]) -> str:
    req_key = body.get("req_key")
    if req_key is None or req_key == "":
        raise ApiError(50201, "Missing required argument: req_key")
    if not isinstance(req_key, str) or req_key not in allowed:
        # The real service answers a wrong req_key with its permission error.
        raise ApiError(50400, f"Access Denied: req_key {str(req_key)[:64]!r} is not available for this Action")
    return req_key


def decode_inputs(body: dict[str, Any], count: int, infos: list[ImageInfo], *, max_base64: int) -> list[bytes]:
    """Decode `binary_data_base64`, appending an ImageInfo per decoded input to `infos` as it goes."""
    items = body.get("binary_data_base64")
    urls = body.get("image_urls")
    if items is None or items == []:
        if urls not in (None, []):
            raise ApiError(50200, "image_urls is not supported by this local stand-in (it cannot fetch remote "
                                  "URLs); send the images in binary_data_base64")
        raise ApiError(50201, "Missing required argument: binary_data_base64 or image_urls")
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ApiError(50200, "binary_data_base64 must be a list of base64 strings")
    if len(items) != count:
        what = "[image, mask]" if count == 2 else "[image]"
        raise ApiError(50200, f"binary_data_base64 must hold exactly {count} item(s) {what}, got {len(items)}")
    out = []
    for index, item in enumerate(items):
        name = _input_name(index, count)
        if len(item) > max_base64:
            raise ApiError(50205, f"{name} is too large: {len(item):,} base64 characters, the limit is "
                                  f"{max_base64:,} ({max_base64 / 1e6:g} MB of base64)")
        data = _b64decode(item, name)
        if not data:
            raise ApiError(50206, f"{name} is empty")
        infos.append(describe(data))
        out.append(data)
    return out


def _input_name(index: int, count: int) -> str:
    return ("image", "mask")[index] if count == 2 else "image"


def _b64decode(text: str, name: str) -> bytes:
    if text.startswith("data:"):
        raise ApiError(50207, f"{name} cannot be decoded: remove the 'data:...;base64,' prefix")
    try:
        # Like Go's StdEncoding: line breaks are ignored, anything else outside the alphabet is an error.
        return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(50207, f"{name} is not valid base64") from None


def describe(data: bytes) -> ImageInfo:
    """What the bytes are, from the header only (cheap, never raises)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return ImageInfo(img.format, img.width, img.height, img.mode, len(data), bool(img.info.get("icc_profile")))
    except Exception:  # noqa: BLE001 - anything Pillow cannot identify is just "unknown"
        return ImageInfo(None, 0, 0, "", len(data), False)


def open_image(data: bytes, formats: tuple[str, ...], sides: tuple[int, int], name: str = "image") -> Image.Image:
    """Decode fully (so truncated files fail here), checking the format and the side limits: 50215."""
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ApiError(50215, f"{name} dimensions are far beyond {sides[1]} px per side") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ApiError(50215, f"{name} is not a decodable image (expected {'/'.join(formats)})") from None
    fmt = "JPEG" if img.format == "MPO" else img.format
    if fmt not in formats:
        raise ApiError(50215, f"{name} format {img.format} is not supported (expected {'/'.join(formats)})")
    low, high = sides
    if not (low <= img.width <= high and low <= img.height <= high):
        raise ApiError(50215, f"{name} size {img.width}x{img.height} is outside {low}..{high} px per side")
    try:
        img.load()
    except (OSError, ValueError, SyntaxError):
        raise ApiError(50215, f"{name} data is truncated or corrupt") from None
    return img


def to_rgb(img: Image.Image) -> np.ndarray:
    """uint8 HxWx3 for any decoded mode (16-bit grey is scaled down, alpha is dropped)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(img, np.float64)
        grey = np.clip(grey / (257.0 if grey.max() > 255 else 1.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, -1)
    return np.asarray(img.convert("RGB"))


def check_mask(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """The mask as bool (True = erase, value > 127); 50215 unless an 8-bit grey PNG without ICC of `size`."""
    mask = open_image(data, ("PNG",), INPAINT_SIDES, "mask")
    if mask.info.get("icc_profile"):
        raise ApiError(50215, "mask must not embed an ICC profile (save it without a colour profile)")
    if mask.size != size:
        raise ApiError(50215, f"mask size {mask.width}x{mask.height} differs from the image size {size[0]}x{size[1]}")
    if mask.mode == "L":
        grey = np.asarray(mask)
    elif mask.mode in ("RGB", "RGBA"):
        px = np.asarray(mask)
        if mask.mode == "RGBA" and not (px[..., 3] == 255).all():
            raise ApiError(50215, "mask must be opaque: an RGBA mask needs alpha 255 everywhere")
        grey = px[..., 0]
        if not ((px[..., 1] == grey).all() and (px[..., 2] == grey).all()):
            raise ApiError(50215, "mask must be grey: single channel, or RGB(A) with three equal channels")
    else:
        raise ApiError(50215, f"mask must be an 8-bit single-channel grey PNG, got mode {mask.mode}")
    return grey > 127


def inpaint_params(body: dict[str, Any]) -> dict[str, Any]:
    """Validated numeric/string parameters with defaults filled in: 50200 on a wrong type or range."""
    out: dict[str, Any] = {}
    for name, (kind, low, high, default) in INPAINT_RANGES.items():
        out[name] = number_param(body, name, kind, low, high, default)
    quality = body.get("quality")
    if quality is None:
        quality = "M"
    if quality not in QUALITIES:
        raise ApiError(50200, f"quality must be one of H, M, L, got {str(quality)[:32]!r}")
    out["quality"] = quality
    out["return_url"] = bool_param(body, "return_url")
    logo = body.get("logo_info")
    if logo is not None:
        out["logo_info"] = _logo(logo)
    return out


def _logo(logo: Any) -> dict[str, Any]:
    if not isinstance(logo, dict):
        raise ApiError(50200, "logo_info must be an object")
    out = {"add_logo": bool_param(logo, "add_logo", "logo_info.")}
    for name, (kind, low, high) in LOGO_RANGES.items():
        out[name] = number_param(logo, name, kind, low, high, None, "logo_info.")
    text = logo.get("logo_text_content")
    if text is not None and not isinstance(text, str):
        raise ApiError(50200, "logo_info.logo_text_content must be a string")
    out["logo_text_content"] = text
    return out


def number_param(body: dict[str, Any], name: str, kind: type, low: float, high: float, default: Any,
            prefix: str = "") -> Any:
    value = body.get(name)
    if value is None:
        return default
    # bool is an int in Python but not in JSON; an int field does not take 30.0 (Go would refuse it too).
    allowed = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise ApiError(50200, f"{prefix}{name} must be {'an integer' if kind is int else 'a number'}, "
                              f"got {type(value).__name__}")
    if not low <= value <= high:
        raise ApiError(50200, f"{prefix}{name} must be within [{low}, {high}], got {value}")
    return kind(value)


def bool_param(body: dict[str, Any], name: str, prefix: str = "") -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(50200, f"{prefix}{name} must be true or false, got {type(value).__name__}")
    return value


def saliency_params(body: dict[str, Any]) -> dict[str, Any]:
    only_mask = number_param(body, "only_mask", int, 0, 4, 0)
    refine = number_param(body, "refine_mask", int, 0, 2, 0)
    rgb = body.get("rgb")
    if rgb is None:
        rgb = [255, 255, 255]
    if (not isinstance(rgb, list) or len(rgb) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and -1 <= v <= 255 for v in rgb)):
        raise ApiError(50200, "rgb must be a list of three integers in -1..255 ([-1, -1, -1] = transparent)")
    return {"only_mask": only_mask, "refine_mask": refine, "rgb": tuple(rgb),
            "return_url": bool_param(body, "return_url")}


def build_inpaint(body: dict[str, Any], infos: list[ImageInfo]) -> InpaintJob:
    params = inpaint_params(body)
    image_data, mask_data = decode_inputs(body, 2, infos, max_base64=MAX_INPAINT_BASE64)
    image = open_image(image_data, ("JPEG", "PNG"), INPAINT_SIDES)
    mask = check_mask(mask_data, image.size)
    return InpaintJob(image, mask, params)


def build_saliency(body: dict[str, Any], infos: list[ImageInfo]) -> SaliencyJob:
    params = saliency_params(body)
    (data,) = decode_inputs(body, 1, infos, max_base64=MAX_SALIENCY_BASE64)
    image = open_image(data, ("JPEG", "PNG", "BMP"), SALIENCY_SIDES)
    return SaliencyJob(image, params["only_mask"], params["refine_mask"], params["rgb"], params["return_url"])
