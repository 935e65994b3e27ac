"""Local stand-in for the Volcengine visual API, for tests and offline demos (no machine here reaches Volcengine).

Serves `POST /?Action=Img2ImgInpainting|EntitySegment|CVProcess&Version=2022-08-31` on loopback, checks Signature V4
like the gateway (with `signing.verify_request`), validates bodies like the service (same error codes), answers
inpainting with a classical seeded fill, saliency_seg with a border-contrast mask and entity_seg with colour regions
(entities.py), and can inject faults. Results asked for with return_url are served unsigned at
`GET /results/<id>.jpg` until stop().

Choices where the reference leaves room: steps 1..50, strength 0.1..1.0, scale 1..20, seed -1..2**63-1 (int64),
dilate_size 0..100 (all inclusive); uploads at most 5,000,000 (inpainting) / 4,700,000 (saliency, entities) base64
characters each, the strictest reading of the documented limits; 50400 answers HTTP 400; URL results are JPEG.
Faults (faults.py lists every kind) are matched in FIFO order: a request takes one application of the first queued
fault whose `action` matches its req_key ("empty_mask" only matches saliency_seg and entity_seg). "reset",
"latency", "gateway", "plain_text" and the error-shaped "echo_credentials" apply after authentication and before
body validation; the others only once the body is valid, so an invalid request leaves them queued. Like the service,
the stand-in checks the req_key's permission (50400) after authentication and before the body's arguments:
`deny("i2i_inpainting")` (CLI `--deny`) plays an account without Inpainting, so an image-less request answers 50400
instead of 50201.
A reset request is recorded with http_status None. Only verified requests have `signed` True. Nothing recorded holds
a secret, token or signature.

CLI (cli.py): `python -m utils.standin [--host 127.0.0.1] [--port 8787] [--fault KIND[:ARG][/TIMES] ...]
[--deny REQ_KEY]`.
"""
from __future__ import annotations

import base64
import secrets
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..api.client import is_loopback
from .checks import ApiError, ImageInfo, InpaintJob, check_req_key, lenient_body, parse_body
from .faults import FAULT_KINDS, Fault, parse_fault
from .http import Handler, Reply, Server, read_body
from .service import (GatewayError, as_jpeg, authenticate, build_job, dump, gateway_body, half_size, route, run_job,
                      service_body, success_answer)
from .shapes import (echo_gateway_body, echo_service_body, echo_success, echoed, malformed_body,
                     oversized_chunks)
from .variations import SIZE_FAULTS, resize_answer

__all__ = ["STANDIN_ACCESS_KEY", "STANDIN_SECRET_KEY", "FAULT_KINDS", "Fault", "ImageInfo", "Recorded", "StandIn",
           "parse_fault"]

# Public, documented example credentials: they only open this local stand-in.
STANDIN_ACCESS_KEY = "AKLTSTANDINEXAMPLEACCESSKEY0000"
STANDIN_SECRET_KEY = "standin-EXAMPLE-secret-not-a-real-key"

HIDDEN_HEADERS = ("authorization", "x-security-token")
MAX_RESULTS = 512


@dataclass
class Recorded:
    action: str
    version: str
    req_key: str | None = None
    http_status: int | None = None  # None: no answer (the "reset" fault)
    code: int | str | None = None  # API code, or the gateway Code name
    request_id: str = ""
    params: dict[str, Any] = field(default_factory=dict)  # JSON body minus binary_data_base64
    images: list[ImageInfo] = field(default_factory=list)
    body_size: int = 0
    signed: bool = False  # True only when the signature was verified
    has_session_token: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # without Authorization and X-Security-Token


class StandIn:
    """The stand-in endpoint. `with StandIn() as sb: ... sb.endpoint ...`; port 0 picks a free port."""

    def __init__(self, access_key: str = STANDIN_ACCESS_KEY, secret_key: str = STANDIN_SECRET_KEY, *,
                 host: str = "127.0.0.1", port: int = 0, max_skew_seconds: int = 900) -> None:
        if not is_loopback(host):
            raise ValueError(f"the stand-in only binds to loopback addresses, not {host!r}")
        self._keys = {access_key: secret_key}
        self._host, self._port, self.max_skew_seconds = host, port, max_skew_seconds
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._records: list[Recorded] = []
        self._results: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()  # id -> (data, trickle rate)
        self._downloads: list[tuple[str, int]] = []
        self._denied: set[str] = set()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        return f"StandIn({self._endpoint() or 'stopped'})"

    # --- lifecycle ---
    @property
    def endpoint(self) -> str:
        text = self._endpoint()
        if text is None:
            raise RuntimeError("the standin is not running; call start() first")
        return text

    def _endpoint(self) -> str | None:
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> StandIn:
        if self._server is not None:
            return self
        self._stopping = threading.Event()
        host = "127.0.0.1" if self._host == "localhost" else self._host
        self._server = Server((host, self._port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="volc-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes "latency" sleepers
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stopping(self) -> threading.Event:
        """Set by stop(): slow answers (latency, trickle) end early."""
        return self._stopping

    # --- faults and records ---
    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(replace(f) for f in faults)

    def pending_faults(self) -> int:
        """How many applications are still queued (a Fault with times=3 counts 3)."""
        with self._lock:
            return sum(f.times for f in self._faults)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return [replace(r, params=dict(r.params), images=list(r.images), headers=dict(r.headers))
                    for r in self._records]

    @property
    def downloads(self) -> list[tuple[str, int]]:
        """(path, status) of each GET /results/... request (these never consume faults)."""
        with self._lock:
            return list(self._downloads)

    def deny(self, *req_keys: str) -> None:
        """Play an account without permission for these req_keys (answers 50400) until clear()."""
        with self._lock:
            self._denied.update(req_keys)

    def clear(self) -> None:
        with self._lock:
            self._records = []  # in-flight requests keep writing to the old list, so they vanish too
            self._faults.clear()
            self._downloads.clear()
            self._denied.clear()
        if self._server is not None:
            self._server.connection_counts(reset=True)

    def connections(self) -> tuple[int, int]:
        """(TCP connections accepted since clear(), connections open now): what pooling saves shows here."""
        return self._server.connection_counts() if self._server is not None else (0, 0)

    def count(self, req_key: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self._records if req_key is None or r.req_key == req_key)

    def _take_fault(self, req_key: str | None, pre_validation: bool) -> Fault | None:
        """Consume one application of the first queued fault matching req_key, if it applies at this stage."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(req_key):
                    if fault.pre_validation != pre_validation:
                        return None
                    fault.times -= 1
                    if fault.times == 0:
                        del self._faults[index]
                    return replace(fault, times=1)
        return None

    def _store_result(self, data: bytes, rate: float | None = None, prefix: str = "") -> str:
        """A URL serving `data` (at `rate` bytes per second when given); `prefix` "redirect-" makes it a 302."""
        result_id = secrets.token_hex(12)
        with self._lock:
            self._results[result_id] = (data, rate)
            while len(self._results) > MAX_RESULTS:
                self._results.popitem(last=False)
        return f"{self.endpoint}/results/{prefix}{result_id}.jpg"

    # --- request handling (called on the server's threads) ---
    def _handle_post(self, handler: Handler) -> Reply:
        started = time.monotonic()
        parts = urlsplit(handler.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        action, version = query.get("Action", ""), query.get("Version", "")
        headers = dict(handler.headers.items())
        rec = Recorded(action, version, request_id=_request_id(),
                       headers={k: v for k, v in headers.items() if k.lower() not in HIDDEN_HEADERS},
                       has_session_token=any(k.lower() == "x-security-token" for k in headers))
        with self._lock:
            self._records.append(rec)
        body, refused = read_body(handler)
        rec.body_size = len(body)
        if refused:
            return self._service_error(rec, refused, started, close=True)
        loose = lenient_body(body)
        rec.req_key = loose["req_key"] if isinstance(loose.get("req_key"), str) else None
        rec.params = {k: v for k, v in loose.items() if k != "binary_data_base64"}
        try:
            authenticate(handler.command, parts.path, parts.query, headers, body, self._keys, self.max_skew_seconds)
            rec.signed = True
            if parts.path != "/":
                raise GatewayError("InvalidActionOrVersion", "POST to /?Action=...&Version=... (path must be /)")
            allowed = route(action, version)
        except GatewayError as exc:
            return self._gateway(rec, exc.code, exc.message)
        try:
            return self._serve(rec, body, allowed, started, headers)
        except Exception as exc:  # noqa: BLE001 - a bug here must still answer, not hang the client
            traceback.print_exc()
            return self._service_error(rec, ApiError(50500, f"stand-in internal error ({type(exc).__name__})"),
                                       started)

    def _serve(self, rec: Recorded, body: bytes, allowed: tuple[str, ...], started: float,
               headers: dict[str, str]) -> Reply:
        fault = self._take_fault(rec.req_key, True)
        if fault is not None and fault.kind != "latency":
            return self._refuse(rec, fault, headers)
        if fault is not None and self._stopping.wait(fault.seconds):  # latency; stop() cuts it short
            return Reply(None)
        try:
            payload = parse_body(body)
            req_key = check_req_key(payload, allowed)
            with self._lock:
                if req_key in self._denied:
                    raise ApiError(50400, f"Access Denied: this account has no permission for {req_key}")
            job = build_job(req_key, payload, rec.images)
        except ApiError as exc:
            return self._service_error(rec, exc, started)
        if fault is None:
            fault = self._take_fault(req_key, False)
        return self._run(rec, job, fault, started, headers)

    def _refuse(self, rec: Recorded, fault: Fault, headers: dict[str, str]) -> Reply:
        """The faults that answer before the body is looked at."""
        if fault.kind == "reset":
            return Reply(None)
        if fault.kind == "plain_text":
            rec.http_status, rec.code = fault.status or 400, "plain_text"
            return Reply(rec.http_status, fault.text.encode("utf-8"), "text/plain; charset=utf-8")
        if fault.kind == "echo_credentials":
            build = echo_gateway_body if fault.shape == "gateway" else echo_service_body
            status, answer = build(echoed(headers, self._keys), rec.request_id)
            rec.http_status, rec.code = status, "echo"  # the record never holds what was echoed
            return Reply(status, answer)
        code = str(fault.code or "AccessDenied")
        return self._gateway(rec, code, f"{code} for {rec.action} [stand-in fault]", fault.status)

    def _run(self, rec: Recorded, job: Any, fault: Fault | None, started: float, headers: dict[str, str]) -> Reply:
        kind, shape = (fault.kind, fault.shape) if fault else (None, "")
        if kind == "error":
            return self._service_error(rec, ApiError(int(fault.code or 50500), ""), started)
        if kind == "ghost_face":
            return self._ghost_face(rec, shape, started)
        outputs, want_url, fields = run_job(job, empty=kind == "empty_mask", drift=kind == "seam_drift")
        if not outputs:  # no entity and one layer per entity asked for: an empty list, nothing to vary
            kind = None if kind in ("wrong_size", "bad_base64", *SIZE_FAULTS) else kind
        if kind == "wrong_size":
            outputs[0] = half_size(outputs[0])
        if kind in SIZE_FAULTS:
            outputs[0] = resize_answer(outputs[0], kind)
        images = [base64.b64encode(data).decode("ascii") for data in outputs]
        urls = [self._store_result(as_jpeg(outputs[0]))] if want_url else None
        if kind in ("expired_url", "url_only") or (kind == "trickle" and shape == "download"):
            images, urls = [], [self._url_only(fault, outputs[0])]  # nothing inline: the client must download
        if kind == "bad_base64":
            images[0] = "@@not-base64@@"  # 9 alphabet characters: invalid even for lenient decoders
        answer = success_answer(images, urls, rec.request_id, time.monotonic() - started, fields)
        rec.http_status, rec.code = 200, 10000
        if kind == "malformed" and shape == "oversized":
            return Reply(200, stream=oversized_chunks)
        if kind == "malformed":
            return Reply(200, malformed_body(shape, answer, not isinstance(job, InpaintJob)))
        if kind == "echo_credentials":
            return Reply(200, echo_success(answer, echoed(headers, self._keys), self._store_result(outputs[0])))
        body = dump(answer)
        if kind == "truncated_json":
            body = body[: len(body) // 2]
        return Reply(200, body, rate=fault.rate if kind == "trickle" and shape == "answer" else None)

    def _url_only(self, fault: Fault, output: bytes) -> str:
        if fault.kind == "expired_url":  # answers 404
            return f"{self.endpoint}/results/expired-{secrets.token_hex(8)}.jpg"
        if fault.kind == "trickle":
            return self._store_result(as_jpeg(output), rate=fault.rate)
        if fault.url:
            return fault.url
        return self._store_result(as_jpeg(output), prefix="redirect-" if fault.shape == "redirect" else "")

    def _ghost_face(self, rec: Recorded, shape: str, started: float) -> Reply:
        elapsed = time.monotonic() - started
        if shape == "code":
            status, body = service_body(201304, "AI ghost face detected", rec.request_id, elapsed, status=400)
            rec.code = 201304
        elif shape == "algorithm":
            data = {"algorithm_base_resp": {"status_code": 201304, "status_message": "AI ghost face detected"},
                    "binary_data_base64": None, "image_urls": None, "request_id": rec.request_id}
            status, body = service_body(50501, "Internal RPC Error", rec.request_id, elapsed, data=data, status=500)
            rec.code = 50501
        else:
            message = "Internal Error: algorithm status 201304 (AI ghost face detected)"
            status, body = service_body(50500, message, rec.request_id, elapsed, status=500)
            rec.code = 50500
        rec.http_status = status
        return Reply(status, body)

    def _service_error(self, rec: Recorded, exc: ApiError, started: float, *, close: bool = False) -> Reply:
        status, body = service_body(exc.code, exc.message or None, rec.request_id, time.monotonic() - started)
        rec.http_status, rec.code = status, exc.code
        return Reply(status, body, close=close)

    def _gateway(self, rec: Recorded, code: str, message: str, status: int | None = None) -> Reply:
        status, body = gateway_body(code, message, rec.request_id, rec.action, rec.version, status)
        rec.http_status, rec.code = status, code
        return Reply(status, body)

    def _handle_get(self, handler: Handler) -> Reply:
        """Result URLs, unsigned like a CDN link; any other GET is not an API route."""
        path = urlsplit(handler.path).path
        if not path.startswith("/results/"):
            status, body = gateway_body("InvalidActionOrVersion", "the API takes POST /?Action=...&Version=...",
                                        _request_id(), "", "")
            return Reply(status, body)
        name = path[len("/results/"):].removesuffix(".jpg") if path.endswith(".jpg") else ""
        redirect = name.startswith("redirect-")
        with self._lock:
            found = self._results.get(name.removeprefix("redirect-"))
            status = 404 if found is None else 302 if redirect else 200
            self._downloads.append((path, status))
        if found is None:
            return Reply(404, b"Not Found: this result URL does not exist or has expired\n", "text/plain")
        if redirect:
            return Reply(302, b"", "text/plain", headers={"Location": path.replace("redirect-", "", 1)})
        data, rate = found
        return Reply(200, data, "image/jpeg", rate=rate)


def _request_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()
