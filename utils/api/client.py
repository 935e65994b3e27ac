"""The one owner of the HTTP life cycle: sign, send, retry, cancel, bound each attempt by a deadline, read the
answer, fetch results. The policy is in retry.py, the transport in transport.py, answer reading in answers.py, result
URLs in downloads.py; this module ties them together for each call.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

from .answers import Answer, check_image, parse_answer
from .credentials import Credentials, resolve_credentials
from .downloads import download, is_loopback, plan_download
from .errors import InputError, RequestTimeoutError, VolcError, naming_the_service
from .limiter import LIMITER, ProcessLimiter
from .retry import RetryState, call_budget, next_delay
from .scrub import Scrubber
from .signing import sign_request
from .transport import pool_for, post

__all__ = ["CallResult", "ClientConfig", "InpaintOptions", "LogoInfo", "VisualClient", "is_loopback"]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_ENDPOINT = "https://visual.volcengineapi.com"
ENV_ENDPOINT = "VOLC_VISUAL_ENDPOINT"
API_VERSION = "2022-08-31"
CANCEL_POLL_SECONDS = 0.25
MIB = 1024 * 1024
# The strictest reading of the documented upload limits ("5 MB" inpainting, "base64 4.7Mb" segmentation): the
# base64 text itself stays at or below these many characters. imaging/codec.py derives its byte budgets from them.
INPAINT_MAX_BASE64 = 5_000_000
SEGMENT_MAX_BASE64 = 4_700_000


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
    read_timeout: float = 120.0            # the deadline of each attempt as a whole (the nodes' `timeout`)
    max_connect_retries: int = 2
    max_rate_limit_retries: int = 5
    rate_limit_budget: float = 60.0        # seconds of backoff in all, per call
    backoff_base: float = 1.0
    backoff_cap: float = 16.0
    retry_read_timeout: bool = False       # opt-in: a timed-out call may already be billed
    # A 4096 px JPEG of pure noise at quality 95 is 39 MB, 52 MB as base64: the largest result the service can
    # send fits, while a runaway or hostile answer stops there instead of filling the memory.
    max_answer_bytes: int = 64 * MIB
    max_download_bytes: int = 64 * MIB

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
    urls: list[str] = field(default_factory=list)      # result URLs the service sent (scrubbed), for the report
    more: list[bytes] = field(default_factory=list)    # further inline result images, in the answer's order
    fields: dict[str, Any] = field(default_factory=dict)  # the answer's numeric data fields (e.g. entity_num)


class _AfterAnswer(Exception):
    """A failure once the service had answered (result download or check): never a reason to POST again."""

    def __init__(self, error: VolcError) -> None:
        super().__init__(str(error))
        self.error = error


class VisualClient:
    """Calls the Volcengine visual API. `cancel_check` is called at least every 0.25 s while waiting; when it
    raises, the in-flight request is abandoned and the exception propagates (ComfyUI's interrupt works so).
    Without `credentials` the chain is resolved at the first call, with `credentials_file` (the Settings >
    Volcengine file) as its second place."""

    def __init__(self, credentials: Credentials | None = None, config: ClientConfig | None = None, *,
                 cancel_check: Callable[[], None] | None = None, limiter: ProcessLimiter = LIMITER,
                 credentials_file: Path | None = None) -> None:
        self._credentials = credentials
        self._credentials_file = credentials_file
        self.config = config or ClientConfig()
        self.cancel_check = cancel_check
        self.limiter = limiter

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = resolve_credentials(stored=self._credentials_file)
        return self._credentials

    async def inpaint(self, image: bytes, mask: bytes, options: InpaintOptions) -> CallResult:
        _check_upload("image", image, INPAINT_MAX_BASE64)
        _check_upload("mask", mask, INPAINT_MAX_BASE64)
        # json.dumps would scan megabytes of base64 for characters to escape (there are none): splice it in.
        head = json.dumps({"req_key": "i2i_inpainting", **options.to_json()}, separators=(",", ":")).encode("utf-8")
        payload = b"".join((head[:-1], b',"binary_data_base64":["', base64.b64encode(image), b'","',
                            base64.b64encode(mask), b'"]}'))
        with naming_the_service("i2i_inpainting"):
            return await self.call("Img2ImgInpainting", payload)

    async def saliency(self, image: bytes, *, refine_mask: int = 0) -> CallResult:
        _check_upload("image", image, SEGMENT_MAX_BASE64)
        body = {"req_key": "saliency_seg", "binary_data_base64": [base64.b64encode(image).decode("ascii")],
                "only_mask": 1, "refine_mask": refine_mask}
        with naming_the_service("saliency_seg"):
            return await self.call("CVProcess", body)

    async def entity_segment(self, image: bytes, *, max_entity: int = 20, return_format: int = 0) -> CallResult:
        """Entity segmentation (智能分割). Only the documented fields; return_url is documented as unsupported."""
        _check_upload("image", image, SEGMENT_MAX_BASE64)
        body = {"req_key": "entity_seg", "binary_data_base64": [base64.b64encode(image).decode("ascii")],
                "max_entity": max_entity, "return_format": return_format}
        with naming_the_service("entity_seg"):
            return await self.call("EntitySegment", body)

    async def call(self, action: str, body: dict[str, Any] | bytes) -> CallResult:
        """`body` is the JSON object, or its encoded bytes."""
        payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode("utf-8")
        endpoint = self.config.resolved_endpoint()
        url = f"{endpoint}/?{urlencode({'Action': action, 'Version': API_VERSION})}"
        credentials = self.credentials  # resolve before any network work, so a missing key fails fast
        scrub = Scrubber(credentials)
        started = time.monotonic()
        result, state = CallResult(b""), RetryState(call_budget(self.config))
        while True:
            try:
                image, answer = await self._guard(self._attempt(endpoint, url, payload, credentials, scrub, state))
            except _AfterAnswer as wrapped:
                raise self._final(wrapped.error, result) from None
            except VolcError as exc:
                delay = next_delay(exc, state, self.config)
                if delay is None:
                    raise self._final(exc, result) from None
                result.retries.append(str(exc.code or type(exc).__name__))
                log.info("Volcengine %s: retrying in %.1fs after %s", action, delay, exc.code or type(exc).__name__)
                await self._guard(asyncio.sleep(delay))
                result.attempts += 1
                continue
            result.data, result.request_id = image, answer.request_id
            result.urls = [scrub(u, 2000) for u in answer.urls]
            result.more, result.fields = answer.more, answer.fields
            result.elapsed = time.monotonic() - started
            return result

    @staticmethod
    def _final(exc: VolcError, result: CallResult) -> VolcError:
        exc.attempts, exc.retries = result.attempts, list(result.retries)
        return exc

    async def _attempt(self, endpoint: str, url: str, payload: bytes, cred: Credentials, scrub: Scrubber,
                       state: RetryState) -> tuple[bytes, Answer]:
        """One attempt under one deadline: the POST, its answer and any result download together."""
        async with self.limiter.slot():
            deadline = min(self.config.read_timeout, state.left())
            phase = ["connecting"]
            started = time.monotonic()
            try:
                return await asyncio.wait_for(self._exchange(endpoint, url, payload, cred, scrub, phase, deadline),
                                              deadline)
            except asyncio.TimeoutError:
                raise RequestTimeoutError(
                    f"No complete answer from {urlsplit(url).netloc} within {deadline:g} s (stopped while "
                    f"{phase[-1]}).", hint="The call may still have been billed; raise the timeout or try again "
                    "later.", code="timeout") from None
            finally:
                state.spent += time.monotonic() - started

    async def _exchange(self, endpoint: str, url: str, payload: bytes, cred: Credentials, scrub: Scrubber,
                        phase: list[str], deadline: float) -> tuple[bytes, Answer]:
        """Sign, POST, read the answer, fetch the result if only a URL came; `phase` records how far it got."""
        cfg = self.config
        headers = sign_request("POST", url, {"Content-Type": "application/json"}, payload, cred.access_key,
                               cred.secret_key, session_token=cred.session_token)
        headers.pop("Host")  # httpx sends the same Host itself
        client = await pool_for(endpoint)
        connect = min(cfg.connect_timeout, deadline)
        status, raw = await post(client, url, payload, headers, connect_timeout=connect, cap=cfg.max_answer_bytes,
                                 note=phase.append)
        answer = parse_answer(status, raw, cred, scrub)
        try:
            for extra in answer.more:
                check_image(extra, answer.request_id)
            if answer.image is not None:
                check_image(answer.image, answer.request_id)
                return answer.image, answer
            phase.append("downloading the result")
            target = await plan_download(answer.urls[0], endpoint, scrub, answer.request_id)
            image = await download(client, target, cap=cfg.max_download_bytes, connect_timeout=connect,
                                   request_id=answer.request_id)
            check_image(image, answer.request_id, None)
            return image, answer
        except VolcError as exc:
            raise _AfterAnswer(exc) from None

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


def _check_upload(name: str, data: bytes, limit: int) -> None:
    """Never send what the strictest reading of the limit refuses (the encoders stay below it already)."""
    chars = 4 * -(-len(data) // 3)
    if chars > limit:
        raise InputError(f"The {name} to upload is {chars:,} characters as base64, over the {limit:,} the service "
                         "accepts.", hint="Use a smaller image or crop-around-mask.")
