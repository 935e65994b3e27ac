"""Answers off the happy path that a real service, gateway or network may give: success answers with broken bodies
(the "malformed" shapes), answers echoing the caller's credentials, a decompression bomb and a 1x1 result."""
from __future__ import annotations

import base64
import functools
import io
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from PIL import Image

from ..api.signing import parse_authorization
from .service import dump

OVERSIZED_BYTES = 80 * 1024 * 1024   # more than the client's 64 MB answer cap
BOMB_SIDE = 20000                    # 400 million pixels in a PNG of about 50 KB


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def malformed_body(shape: str, answer: dict[str, Any], png: bool) -> bytes:
    """`answer` (a success answer) broken the way `shape` says; `png` for a mask result, else JPEG."""
    data = answer["data"]
    image = (data["binary_data_base64"] or [""])[0]
    if shape == "base64_number":
        data["binary_data_base64"] = 12345
    elif shape == "base64_object":
        data["binary_data_base64"] = {"image": image}
    elif shape == "base64_numbers":
        data["binary_data_base64"] = [1, 2]
    elif shape == "urls_number":
        data["binary_data_base64"], data["image_urls"] = [], 7
    elif shape == "data_null":
        answer["data"] = None
    elif shape == "no_image":
        del data["binary_data_base64"], data["image_urls"]
    elif shape == "not_image":
        data["binary_data_base64"] = [_b64(b"<html><body>503 Service busy, try later</body></html>")]
    elif shape == "algorithm_failed":
        data["algorithm_base_resp"] = {"status_code": 100202, "status_message": "algorithm inference failed"}
    elif shape == "json_list":
        return dump([answer])
    elif shape == "code_missing":
        del answer["code"], answer["status"]
    elif shape == "bomb":
        data["binary_data_base64"] = [_b64(bomb_png())]
    elif shape == "tiny":
        data["binary_data_base64"] = [_b64(one_pixel("PNG" if png else "JPEG"))]
    else:
        raise ValueError(f"no body for malformed shape {shape!r}")
    return dump(answer)


def oversized_chunks() -> Iterator[bytes]:
    """A success-looking JSON answer that never ends before OVERSIZED_BYTES: sent without a Content-Length."""
    yield b'{"code":10000,"data":{"binary_data_base64":["'
    block = b"A" * (1024 * 1024)
    for _ in range(OVERSIZED_BYTES // len(block)):
        yield block
    yield b'"]}}'


@functools.lru_cache(maxsize=1)
def bomb_png() -> bytes:
    """A valid 1-bit PNG of BOMB_SIDE x BOMB_SIDE black pixels: tiny to send, 400 MB once decoded."""
    row = b"\x00" * (1 + BOMB_SIDE // 8)  # filter byte + 1 bit per pixel
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(BOMB_SIDE)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def one_pixel(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("L" if fmt == "PNG" else "RGB", (1, 1), 255).save(buffer, fmt)
    return buffer.getvalue()


# --- echoed credentials --------------------------------------------------------------------------------------------

def echoed(headers: Mapping[str, str], keys: Mapping[str, str]) -> str:
    """The caller's access key, secret key and session token as a hostile server would quote them back."""
    lower = {k.lower(): v for k, v in headers.items()}
    auth = parse_authorization(lower.get("authorization", ""))
    access_key = auth.access_key if auth else ""
    return (f"ak={access_key} sk={keys.get(access_key, '')} token={lower.get('x-security-token', '')}").strip()


def echo_gateway_body(echo: str, request_id: str) -> tuple[int, bytes]:
    meta = {"RequestId": f"{request_id}-{echo}", "Service": "cv", "Region": "cn-north-1",
            "Error": {"Code": f"Echo[{echo}]", "Message": f"echo {echo}"}}
    return 400, dump({"ResponseMetadata": meta})


def echo_service_body(echo: str, request_id: str) -> tuple[int, bytes]:
    data = {"algorithm_base_resp": {"status_code": 50200, "status_message": f"echo {echo}"},
            "request_id": f"{request_id}-{echo}"}
    return 400, dump({"code": 50200, "data": data, "message": f"Request Invalid Args: {echo}",
                      "request_id": f"{request_id}-{echo}", "status": 50200, "time_elapsed": "1ms"})


def echo_success(answer: dict[str, Any], echo: str, result_url: str) -> bytes:
    """A good success answer whose every string field (and a result URL's query) quotes the credentials."""
    data = answer["data"]
    answer["request_id"] = f"{answer['request_id']}-{echo}"
    answer["message"] = f"Success {echo}"
    data["request_id"] = answer["request_id"]
    data["algorithm_base_resp"]["status_message"] = f"Success {echo}"
    data["image_urls"] = [f"{result_url}?{echo.replace(' ', '&')}"]
    return dump(answer)
