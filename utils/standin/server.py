"""Local stand-in for the Volcengine visual API, for tests and offline demos (no machine here reaches Volcengine).

Serves `POST /?Action=Img2ImgInpainting|CVProcess&Version=2022-08-31` on loopback, checks Signature V4 like the
gateway (with `signing.verify_request`), validates bodies like the service (same error codes), answers inpainting
with a classical seeded fill and saliency_seg with a border-contrast mask, and can inject faults. Results asked for
with return_url are served unsigned at `GET /results/<id>.jpg` until stop().

Choices where the reference leaves room: steps 1..50, strength 0.1..1.0, scale 1..20, seed -1..2**63-1 (int64),
dilate_size 0..100 (all inclusive); 50400 answers HTTP 400; URL results are JPEG. Faults are matched in FIFO order:
a request takes one application of the first queued fault whose `action` matches its req_key ("empty_mask" only
matches saliency_seg). "reset", "latency" and "gateway" apply after authentication and before body validation; the
others only once the body is valid, so an invalid request leaves them queued. Like the service, the stand-in checks
the req_key's permission (50400) after authentication and before the body's arguments: `deny("i2i_inpainting")`
(CLI `--deny`) plays an account without Inpainting, so an image-less request answers 50400 instead of 50201.
A reset request is recorded with http_status None. Only verified requests have `signed` True. Nothing recorded holds
a secret, token or signature.

CLI: `python -m utils.standin [--host 127.0.0.1] [--port 8787] [--fault KIND[:ARG][/TIMES] ...] [--deny REQ_KEY]`
from the repo root.
"""
from __future__ import annotations

import argparse
import base64
import secrets
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..api.client import is_loopback
from .checks import (ApiError, ImageInfo, InpaintJob, build_inpaint, build_saliency, check_req_key,
                             lenient_body, parse_body)
from .http import Handler, Reply, Server, read_body
from .service import (GATEWAY_CODES, GatewayError, as_jpeg, authenticate, gateway_body, half_size, route,
                              run_inpaint, run_saliency, service_body, success_body)

__all__ = ["STANDIN_ACCESS_KEY", "STANDIN_SECRET_KEY", "Fault", "ImageInfo", "Recorded", "StandIn", "main"]

# Public, documented example credentials: they only open this local stand-in.
STANDIN_ACCESS_KEY = "AKLTSTANDINEXAMPLEACCESSKEY0000"
STANDIN_SECRET_KEY = "standin-EXAMPLE-secret-not-a-real-key"

FAULT_KINDS = ("latency", "error", "ghost_face", "gateway", "reset", "truncated_json", "bad_base64", "wrong_size",
               "expired_url", "empty_mask")
PRE_VALIDATION = ("reset", "latency", "gateway")
GHOST_SHAPES = ("code", "algorithm", "message")
HIDDEN_HEADERS = ("authorization", "x-security-token")
MAX_RESULTS = 512


@dataclass
class Fault:
    kind: str
    times: int = 1
    seconds: float = 0.0
    code: int | str | None = None
    shape: str = "code"
    action: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not isinstance(self.times, int) or self.times < 1:
            raise ValueError("Fault.times must be an integer >= 1")
        if self.kind == "latency" and not self.seconds >= 0:
            raise ValueError("Fault.seconds must be >= 0")
        if self.kind == "error" and self.code is not None and (not isinstance(self.code, int)
                                                                or isinstance(self.code, bool)):
            raise ValueError("an 'error' fault needs an integer API code, e.g. 50429")
        if self.kind == "gateway" and self.code is not None and self.code not in GATEWAY_CODES:
            raise ValueError(f"unknown gateway code {self.code!r}; expected one of {', '.join(GATEWAY_CODES)}")
        if self.shape not in GHOST_SHAPES:
            raise ValueError(f"Fault.shape must be one of {', '.join(GHOST_SHAPES)}")

    def matches(self, req_key: str | None) -> bool:
        if self.action is not None and req_key != self.action:
            return False
        return self.kind != "empty_mask" or req_key == "saliency_seg"


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
        self._results: OrderedDict[str, bytes] = OrderedDict()
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

    def count(self, req_key: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self._records if req_key is None or r.req_key == req_key)

    def _take_fault(self, req_key: str | None, kinds: tuple[str, ...]) -> Fault | None:
        """Consume one application of the first queued fault matching req_key, if it is one of `kinds`."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(req_key):
                    if fault.kind not in kinds:
                        return None
                    fault.times -= 1
                    if fault.times == 0:
                        del self._faults[index]
                    return replace(fault, times=1)
        return None

    def _store_result(self, data: bytes) -> str:
        result_id = secrets.token_hex(12)
        with self._lock:
            self._results[result_id] = data
            while len(self._results) > MAX_RESULTS:
                self._results.popitem(last=False)
        return f"{self.endpoint}/results/{result_id}.jpg"

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
            return self._serve(rec, body, allowed, started)
        except Exception as exc:  # noqa: BLE001 - a bug here must still answer, not hang the client
            traceback.print_exc()
            return self._service_error(rec, ApiError(50500, f"stand-in internal error ({type(exc).__name__})"),
                                       started)

    def _serve(self, rec: Recorded, body: bytes, allowed: tuple[str, ...], started: float) -> Reply:
        fault = self._take_fault(rec.req_key, PRE_VALIDATION)
        if fault is not None and fault.kind == "reset":
            return Reply(None)
        if fault is not None and fault.kind == "gateway":
            code = str(fault.code or "AccessDenied")
            return self._gateway(rec, code, f"{code} for {rec.action} [stand-in fault]")
        if fault is not None and self._stopping.wait(fault.seconds):  # latency; stop() cuts it short
            return Reply(None)
        try:
            payload = parse_body(body)
            req_key = check_req_key(payload, allowed)
            with self._lock:
                if req_key in self._denied:
                    raise ApiError(50400, f"Access Denied: this account has no permission for {req_key}")
            build = build_inpaint if req_key == "i2i_inpainting" else build_saliency
            job = build(payload, rec.images)
        except ApiError as exc:
            return self._service_error(rec, exc, started)
        if fault is None:
            fault = self._take_fault(req_key, tuple(k for k in FAULT_KINDS if k not in PRE_VALIDATION))
        return self._run(rec, job, fault.kind if fault else None, fault, started)

    def _run(self, rec: Recorded, job: Any, kind: str | None, fault: Fault | None, started: float) -> Reply:
        if kind == "error":
            return self._service_error(rec, ApiError(int(fault.code or 50500), ""), started)
        if kind == "ghost_face":
            return self._ghost_face(rec, fault.shape, started)
        if isinstance(job, InpaintJob):
            outputs, want_url = [run_inpaint(job)], job.params["return_url"]
        else:
            outputs, want_url = run_saliency(job, empty=kind == "empty_mask"), job.return_url
        if kind == "wrong_size":
            outputs[0] = half_size(outputs[0])
        images = [base64.b64encode(data).decode("ascii") for data in outputs]
        urls = [self._store_result(as_jpeg(outputs[0]))] if want_url else None
        if kind == "expired_url":  # nothing inline, and the URL answers 404
            images, urls = [], [f"{self.endpoint}/results/expired-{secrets.token_hex(8)}.jpg"]
        if kind == "bad_base64":
            images[0] = "@@not-base64@@"  # 9 alphabet characters: invalid even for lenient decoders
        answer = success_body(images, urls, rec.request_id, time.monotonic() - started)
        if kind == "truncated_json":
            answer = answer[: len(answer) // 2]
        rec.http_status, rec.code = 200, 10000
        return Reply(200, answer)

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

    def _gateway(self, rec: Recorded, code: str, message: str) -> Reply:
        status, body = gateway_body(code, message, rec.request_id, rec.action, rec.version)
        rec.http_status, rec.code = status, code
        return Reply(status, body)

    def _handle_get(self, handler: Handler) -> Reply:
        """Result URLs, unsigned like a CDN link; any other GET is not an API route."""
        path = urlsplit(handler.path).path
        if not path.startswith("/results/"):
            status, body = gateway_body("InvalidActionOrVersion", "the API takes POST /?Action=...&Version=...",
                                        _request_id(), "", "")
            return Reply(status, body)
        with self._lock:
            data = self._results.get(path[len("/results/"):].removesuffix(".jpg")) if path.endswith(".jpg") else None
            self._downloads.append((path, 200 if data is not None else 404))
        if data is None:
            return Reply(404, b"Not Found: this result URL does not exist or has expired\n", "text/plain")
        return Reply(200, data, "image/jpeg")


def _request_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()


# --- CLI -------------------------------------------------------------------------------------------------------------

def parse_fault(text: str) -> Fault:
    """KIND[:ARG][/TIMES]: ARG is seconds (latency), the code (error, gateway) or the shape (ghost_face)."""
    spec, _, times = text.partition("/")
    kind, _, arg = spec.partition(":")
    fields: dict[str, Any] = {"times": int(times) if times else 1}
    if arg:
        if kind == "latency":
            fields["seconds"] = float(arg)
        elif kind == "error":
            fields["code"] = int(arg)
        elif kind == "gateway":
            fields["code"] = arg
        elif kind == "ghost_face":
            fields["shape"] = arg
        else:
            raise ValueError(f"fault kind {kind!r} takes no argument")
    return Fault(kind, **fields)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.standin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 = any free port)")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND[:ARG][/TIMES]",
                        help=f"queue a fault, repeatable; kinds: {', '.join(FAULT_KINDS)}")
    parser.add_argument("--deny", action="append", default=[], metavar="REQ_KEY",
                        help="play an account without permission for this req_key (e.g. i2i_inpainting), repeatable")
    args = parser.parse_args(argv)
    try:
        faults = [parse_fault(text) for text in args.fault]
        standin = StandIn(host=args.host, port=args.port).start()
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    standin.inject(*faults)
    standin.deny(*args.deny)
    print(f"Volcengine visual stand-in listening on {standin.endpoint}")
    print(f"access key: {STANDIN_ACCESS_KEY}")
    print(f"secret key: {STANDIN_SECRET_KEY}  (public example key; it only opens this stand-in)")
    print("Use it with:")
    print(f"export VOLC_VISUAL_ENDPOINT={standin.endpoint} VOLC_ACCESSKEY={STANDIN_ACCESS_KEY} "
          f"VOLC_SECRETKEY={STANDIN_SECRET_KEY}")
    print("Press Ctrl-C to stop.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # terminate() stops cleanly too
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
