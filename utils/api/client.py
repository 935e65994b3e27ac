"""The one owner of the HTTP life cycle: sign, send, retry, cancel, map errors, fetch results.

Retry policy (also in the README): 50429/50430 -> exponential backoff with jitter, bounded in count and total time;
connect failures (the request never reached the server) -> retried; 50500/50501 -> at most one retry; a read
timeout or broken connection after the body was sent -> not retried by default (the call may have been billed);
201304 -> GhostFaceError for the caller to handle with a new seed; every other error -> raised at once.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import os
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from .credentials import Credentials, resolve_credentials
from .errors import (ConnectFailedError, InputError, NetworkError, RateLimitError, RequestTimeoutError, ServiceError,
                     VolcError, gateway_error, service_error)
from .limiter import LIMITER, ProcessLimiter
from .signing import sign_request

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_ENDPOINT = "https://visual.volcengineapi.com"
ENV_ENDPOINT = "VOLC_VISUAL_ENDPOINT"
API_VERSION = "2022-08-31"
CANCEL_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class LogoInfo:
    add_logo: bool = False
    position: int = 0          # 0 bottom-right, 1 bottom-left, 2 top-left, 3 top-right
    language: int = 0          # 0 Chinese, 1 English
    opacity: float = 0.3
    logo_text_content: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.logo_text_content:
            del data["logo_text_content"]
        return data


@dataclass(frozen=True)
class InpaintOptions:
    steps: int = 30
    strength: float = 0.8
    scale: float = 7.0
    seed: int = 0
    dilate_size: int = 15
    quality: Literal["H", "M", "L"] = "M"
    return_url: bool = False
    logo_info: LogoInfo | None = None

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "logo_info"}
        if self.logo_info is not None:
            data["logo_info"] = self.logo_info.to_json()
        return data


@dataclass(frozen=True)
class ClientConfig:
    endpoint: str | None = None            # None: $VOLC_VISUAL_ENDPOINT, else DEFAULT_ENDPOINT
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_connect_retries: int = 2
    max_rate_limit_retries: int = 5
    rate_limit_budget: float = 60.0        # seconds of backoff in all, per call
    backoff_base: float = 1.0
    backoff_cap: float = 16.0
    retry_read_timeout: bool = False       # opt-in: a timed-out call may already be billed
    max_download_bytes: int = 64 * 1024 * 1024
    download_timeout: float = 30.0

    def resolved_endpoint(self) -> str:
        endpoint = (self.endpoint or os.environ.get(ENV_ENDPOINT) or DEFAULT_ENDPOINT).rstrip("/")
        parts = urlsplit(endpoint)
        # Plain http only to this machine (the stand-in); anything else would send user images in the clear.
        if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and
                                                                  is_loopback(parts.hostname))):
            raise InputError(f"{ENV_ENDPOINT} is not a usable endpoint: {endpoint[:100]!r}.",
                             hint="Use https://visual.volcengineapi.com, or http://127.0.0.1:PORT for the stand-in.")
        return endpoint


@dataclass
class CallResult:
    data: bytes                      # the result image (JPEG for inpainting, PNG mask for saliency)
    request_id: str = ""
    attempts: int = 1
    elapsed: float = 0.0
    retries: list[str] = field(default_factory=list)   # why each retry happened, e.g. "50429"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# One pooled httpx client per event loop and settings; the loop owns the sockets, so the pool cannot be shared
# across loops. Dropped with its loop.
_POOLS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, httpx.AsyncClient]]" = \
    weakref.WeakKeyDictionary()


def _pooled_http(config: ClientConfig) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    proxies = tuple(sorted((k, v) for k, v in os.environ.items() if k.lower().endswith("_proxy")))
    key = (config.connect_timeout, config.read_timeout, proxies)
    pools = _POOLS.setdefault(loop, {})
    client = pools.get(key)
    if client is None or client.is_closed:
        timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout, pool=None)
        client = httpx.AsyncClient(timeout=timeout, trust_env=True, follow_redirects=False,
                                   limits=httpx.Limits(max_connections=32, max_keepalive_connections=8))
        pools[key] = client
    return client


class VisualClient:
    """Calls the Volcengine visual API. `cancel_check` is called at least every 0.25 s while waiting; when it
    raises, the in-flight request is abandoned and the exception propagates (ComfyUI's interrupt works so)."""

    def __init__(self, credentials: Credentials | None = None, config: ClientConfig | None = None, *,
                 cancel_check: Callable[[], None] | None = None, limiter: ProcessLimiter = LIMITER) -> None:
        self._credentials = credentials
        self.config = config or ClientConfig()
        self.cancel_check = cancel_check
        self.limiter = limiter

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = resolve_credentials()
        return self._credentials

    async def inpaint(self, image: bytes, mask: bytes, options: InpaintOptions) -> CallResult:
        # json.dumps would scan megabytes of base64 for characters to escape (there are none): splice it in.
        head = json.dumps({"req_key": "i2i_inpainting", **options.to_json()}, separators=(",", ":")).encode("utf-8")
        payload = b"".join((head[:-1], b',"binary_data_base64":["', base64.b64encode(image), b'","',
                            base64.b64encode(mask), b'"]}'))
        return await self.call("Img2ImgInpainting", payload)

    async def saliency(self, image: bytes, *, refine_mask: int = 0) -> CallResult:
        body = {"req_key": "saliency_seg", "binary_data_base64": [_b64(image)], "only_mask": 1,
                "refine_mask": refine_mask}
        return await self.call("CVProcess", body)

    async def call(self, action: str, body: dict[str, Any] | bytes) -> CallResult:
        """`body` is the JSON object, or its encoded bytes."""
        payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode("utf-8")
        url = f"{self.config.resolved_endpoint()}/?{urlencode({'Action': action, 'Version': API_VERSION})}"
        credentials = self.credentials  # resolve before any network work, so a missing key fails fast
        started = time.monotonic()
        result, backoff_spent = CallResult(b""), 0.0
        while True:
            try:
                status, answer = await self._guard(self._post_once(url, payload, credentials))
                data, request_id = await self._interpret(status, answer, credentials)
            except VolcError as exc:
                delay = self._retry_delay(exc, result.retries, backoff_spent)
                if delay is None:
                    exc.attempts, exc.retries = result.attempts, list(result.retries)
                    raise
                backoff_spent += delay
                result.retries.append(str(exc.code or type(exc).__name__))
                log.info("Volcengine %s: retrying in %.1fs after %s", action, delay, exc.code or type(exc).__name__)
                await self._guard(asyncio.sleep(delay))
                result.attempts += 1
                continue
            result.data, result.request_id = data, request_id
            result.elapsed = time.monotonic() - started
            return result

    def _retry_delay(self, exc: VolcError, reasons: list[str], spent: float) -> float | None:
        """Seconds to wait before the next attempt, or None when the policy says stop."""
        cfg = self.config
        if isinstance(exc, RateLimitError):
            n = sum(r in ("50429", "50430") for r in reasons)
            delay = min(cfg.backoff_cap, cfg.backoff_base * 2 ** n) * random.uniform(0.5, 1.0)
            if n >= cfg.max_rate_limit_retries or spent + delay > cfg.rate_limit_budget:
                return None
            return delay
        if isinstance(exc, ServiceError) and exc.code in (50500, 50501):
            return 0.5 if not any(r in ("50500", "50501") for r in reasons) else None
        if isinstance(exc, ConnectFailedError):
            n = sum(r == "connect" for r in reasons)
            return cfg.backoff_base * 2 ** n * random.uniform(0.5, 1.0) if n < cfg.max_connect_retries else None
        if isinstance(exc, RequestTimeoutError) and cfg.retry_read_timeout:
            return 0.5 if "timeout" not in reasons else None
        return None

    async def _post_once(self, url: str, payload: bytes, cred: Credentials) -> tuple[int, bytes]:
        headers = sign_request("POST", url, {"Content-Type": "application/json"}, payload, cred.access_key,
                               cred.secret_key, session_token=cred.session_token)
        headers.pop("Host")  # httpx sends the same Host itself
        host = urlsplit(url).netloc
        try:
            async with self.limiter.slot():
                response = await _pooled_http(self.config).post(url, content=payload, headers=headers)
                return response.status_code, response.content
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
            raise ConnectFailedError(f"Could not connect to {host} ({type(exc).__name__}).",
                                     hint="Check the network, proxy settings (HTTPS_PROXY) and VOLC_VISUAL_ENDPOINT.",
                                     code="connect") from None
        except httpx.TimeoutException as exc:
            raise RequestTimeoutError(
                f"No answer from {host} within {self.config.read_timeout:g} s ({type(exc).__name__}).",
                hint="The call may still have been billed; raise the timeout or try again later.",
                code="timeout") from None
        except httpx.TransportError as exc:
            raise NetworkError(f"The connection to {host} broke before an answer arrived ({type(exc).__name__}).",
                               hint="The call may have been billed, so it was not repeated; run again.") from None

    async def _interpret(self, status: int, raw: bytes, cred: Credentials) -> tuple[bytes, str]:
        try:
            answer = json.loads(raw)
            if not isinstance(answer, dict):
                raise ValueError("not an object")
        except ValueError:
            raise ServiceError(f"The service's answer could not be read (HTTP {status}, {len(raw)} bytes).",
                               hint="Try again; report it if it persists.", http_status=status) from None
        meta = answer.get("ResponseMetadata")
        if isinstance(meta, dict) and isinstance(meta.get("Error"), dict):
            error = meta["Error"]
            raise gateway_error(str(error.get("Code", "")), _scrub(str(error.get("Message", "")), cred), status,
                                meta.get("RequestId"), key_hint=cred.hint, source=cred.source)
        data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        request_id = str(answer.get("request_id") or data.get("request_id") or "")
        code, message = answer.get("code"), _scrub(str(answer.get("message") or ""), cred)
        algo = data.get("algorithm_base_resp") if isinstance(data.get("algorithm_base_resp"), dict) else {}
        if 201304 in (code, algo.get("status_code")) or "201304" in message:
            raise service_error(201304, message, status, request_id)
        if code != 10000 or status != 200:
            if isinstance(code, int):
                raise service_error(code, message, status, request_id)
            raise ServiceError(f"The service answered HTTP {status} without an error code.",
                               hint="Try again later.", http_status=status, request_id=request_id)
        return await self._result_image(data, status, request_id), request_id

    async def _result_image(self, data: dict, status: int, request_id: str) -> bytes:
        encoded = (data.get("binary_data_base64") or [None])[0]
        if encoded:
            try:
                image = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise ServiceError("The service's result image was not valid base64.", hint="Run again.",
                                   http_status=status, request_id=request_id) from None
        else:
            url = (data.get("image_urls") or [None])[0]
            if not url:
                raise ServiceError("The service answered success without an image.", hint="Run again.",
                                   http_status=status, request_id=request_id)
            image = await self._guard(self._download(str(url), request_id))
        if not (image.startswith(b"\xff\xd8") or image.startswith(b"\x89PNG")):
            raise ServiceError("The service's result is not a JPEG or PNG image.", hint="Run again.",
                               http_status=status, request_id=request_id)
        return image

    async def _download(self, url: str, request_id: str) -> bytes:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))):
            raise ServiceError(f"The result URL on {host or '?'} is not https; it was not downloaded.",
                               hint="Leave return_url off.", request_id=request_id)
        cap = self.config.max_download_bytes
        try:
            async with _pooled_http(self.config).stream("GET", url, timeout=self.config.download_timeout) as resp:
                if resp.status_code != 200:
                    raise ServiceError(f"The result URL on {host} answered HTTP {resp.status_code}; it may have "
                                       "expired (result URLs last 24 h).", hint="Run again.",
                                       http_status=resp.status_code, request_id=request_id)
                chunks, size = [], 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise ServiceError(f"The result at {host} exceeds {cap // 2**20} MB; download stopped.",
                                           hint="Leave return_url off.", request_id=request_id)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise NetworkError(f"The result could not be downloaded from {host} ({type(exc).__name__}).",
                               hint="Check the network and run again.", request_id=request_id) from None

    async def _guard(self, awaitable: Awaitable[T]) -> T:
        """Await while calling cancel_check every CANCEL_POLL_SECONDS; a raise there abandons the work."""
        task = asyncio.ensure_future(awaitable)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=CANCEL_POLL_SECONDS)
                if done:
                    return task.result()
                if self.cancel_check is not None:
                    self.cancel_check()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrub(text: str, cred: Credentials) -> str:
    """Server text is shown to users: make sure it cannot echo our key material."""
    for secret in (cred.access_key, cred.secret_key, cred.session_token):
        if secret:
            text = text.replace(secret, cred.hint if secret == cred.access_key else "…")
    return text
