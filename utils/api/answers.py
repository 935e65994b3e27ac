"""Reading the service's answers: the service and gateway JSON shapes, plain-text errors and every malformed success
answer, each to one error sentence (never a traceback or a raw dump); result images checked before they are decoded.
Every server-supplied string passes the call's Scrubber first."""
from __future__ import annotations

import base64
import binascii
import io
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from .credentials import Credentials
from .errors import (RateLimitError, ServiceError, VolcError, gateway_error, plain_text_error, service_error)
from .scrub import Scrubber, describe

# The service returns the sent size (at most 4096 px a side); 4x that in pixels leaves room for a service that
# upsamples, while a decompression bomb (a tiny file claiming 20000 x 20000) is refused before it is decoded.
MAX_RESULT_PIXELS = 4 * 4096 * 4096
SUCCESS = 10000
GHOST_FACE = 201304


@dataclass
class Answer:
    request_id: str = ""                              # scrubbed
    image: bytes | None = None                        # the inline result, decoded
    urls: list[str] = field(default_factory=list)     # result URLs as sent (downloads use them; reports scrub them)
    more: list[bytes] = field(default_factory=list)   # further inline results (entity layers), decoded
    fields: dict[str, Any] = field(default_factory=dict)  # numeric data fields (entity_num, seg_score, ...)


def parse_answer(status: int, raw: bytes, cred: Credentials, scrub: Scrubber) -> Answer:
    """The answer of a POST: an Answer with an inline image or result URLs, or the VolcError it stands for."""
    try:
        answer = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        if status != 200:
            raise plain_text_error(status, first_words(raw, scrub)) from None
        raise _bad(f"The service's answer could not be read (HTTP {status}, {len(raw)} bytes).", status,
                   hint="Try again; report it if it persists.") from None
    if not isinstance(answer, dict):
        raise _bad(f"The service's answer is {describe(answer)}, not a JSON object (HTTP {status}).", status)
    meta = answer.get("ResponseMetadata")
    if isinstance(meta, dict) and isinstance(meta.get("Error"), dict):
        error = meta["Error"]
        raise gateway_error(scrub(error.get("Code"), 64) or "(no code)", scrub(error.get("Message")), status,
                            scrub(meta.get("RequestId"), 100) or None, key_hint=cred.hint, source=cred.source)
    return _service_answer(status, answer, scrub)


def _service_answer(status: int, answer: dict[str, Any], scrub: Scrubber) -> Answer:
    data = answer.get("data")
    body = data if isinstance(data, dict) else {}
    request_id = scrub(answer.get("request_id") or body.get("request_id"), 100)
    code, message = _code(answer.get("code")), scrub(answer.get("message"))
    algo = body.get("algorithm_base_resp") if isinstance(body.get("algorithm_base_resp"), dict) else {}
    algo_code = _code(algo.get("status_code"))
    if GHOST_FACE in (code, algo_code) or str(GHOST_FACE) in message:
        raise service_error(GHOST_FACE, message, status, request_id)
    if code is not None and code != SUCCESS:
        raise service_error(code, message, status, request_id)
    if status != 200:
        cls = RateLimitError if status == 429 else ServiceError
        raise cls(f"The service answered HTTP {status} without an error code.", hint="Try again later.",
                  http_status=status, request_id=request_id)
    if code is None:
        raise _bad(f"The service's answer has no result code (HTTP {status}).", status, request_id)
    if not isinstance(data, dict):
        raise _bad(f"The service answered success, but its data is {describe(data)}.", status, request_id)
    if algo_code not in (None, 0):
        said = scrub(algo.get("status_message"))
        raise ServiceError(f"The service answered success, but its algorithm reported status {algo_code}"
                           + (f': "{said}".' if said else "."), hint="Run again; report it if it persists.",
                           http_status=status, code=algo_code, request_id=request_id)
    images = _strings(body, "binary_data_base64", "base64 strings", status, request_id)
    urls = [u for u in _strings(body, "image_urls", "URLs", status, request_id) if u.strip()]
    inline = next((item for item in images if item), None)
    if inline is None and not urls:
        raise _bad("The service answered success without an image.", status, request_id)
    image = _decode_base64(inline, status, request_id) if inline is not None else None
    more = [_decode_base64(item, status, request_id) for item in images[images.index(inline) + 1:] if item] \
        if inline is not None else []
    return Answer(request_id, image, urls, more, _numbers(body))


def check_image(data: bytes, request_id: str = "", status: int | None = 200) -> tuple[int, int]:
    """(width, height) of a result, read from its header only; ServiceError unless a JPEG or PNG of at most
    MAX_RESULT_PIXELS pixels."""
    if not (data.startswith(b"\xff\xd8") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        raise _bad("The service's result is not a JPEG or PNG image.", status, request_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except Image.DecompressionBombError:  # Pillow's own, far higher, bound
        width = height = 0
    except Exception:  # noqa: BLE001 - whatever Pillow raises for a broken header, the sentence is the same
        raise _bad("The service's result image is damaged: its header cannot be read.", status, request_id) from None
    if not 0 < width * height <= MAX_RESULT_PIXELS:
        size = f" ({width}x{height})" if width else ""
        raise _bad(f"The service's result has more than {MAX_RESULT_PIXELS:,} pixels{size}, so it was not decoded "
                   "(a decompression bomb or a broken answer).", status, request_id)
    return width, height


def first_words(raw: bytes, scrub: Scrubber, limit: int = 80) -> str:
    """The start of a plain-text body, scrubbed: enough to recognise it, never a page of HTML."""
    return scrub(raw[:4096].decode("utf-8", "replace"), limit)


def _bad(message: str, status: int | None, request_id: str = "",
         hint: str = "Run again; report it if it persists.") -> VolcError:
    return ServiceError(message, hint=hint, http_status=status, request_id=request_id or None)


def _code(value: Any) -> int | None:
    """An API code: an integer, or digits as text (tolerated); anything else counts as missing."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _numbers(data: dict[str, Any]) -> dict[str, Any]:
    """The data fields that are numbers or lists of numbers: nothing server-written that would need scrubbing."""
    def numeric(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return {k: v for k, v in data.items()
            if numeric(v) or (isinstance(v, list) and v and all(numeric(item) for item in v))}


def _strings(data: dict[str, Any], name: str, what: str, status: int, request_id: str) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(f"The service's {name} is {describe(value)}, not a list of {what}.", status, request_id)
    for item in value:
        if not isinstance(item, str):
            raise _bad(f"The service's {name} holds {describe(item)}, not {what}.", status, request_id)
    return value


def _decode_base64(text: str, status: int, request_id: str) -> bytes:
    if text.startswith("data:") and "," in text[:100]:  # tolerated: a data-URL prefix
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        raise _bad("The service's result image was not valid base64.", status, request_id) from None
