"""Shared helpers and fixtures of the secret-leak tests (test_secrets*.py import them with *)."""
from __future__ import annotations

import json
import logging
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import torch
import volc_pack
from volc_pack.nodes import common as node_common
from volc_pack.utils.api import errors
from volc_pack.utils.standin import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault

ROOT = Path(__file__).resolve().parents[2]

# Random-looking, so that any 6-character fragment found anywhere can only have come from these values.
ACCESS_KEY = "AKLTq7RzXw4Vb9Kp2Jd8TnM"  # fake; short of the real-key pattern on purpose
SECRET_KEY = "Sx9Qv2Lm7Np4Rt6Wy8HbZc3F"
TOKEN = "STSq4Jf3Kd8Ls2Pq9Vx5Mz7Cn1Gh"
FRAGMENT = 6

ERASE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
SUBJECT = volc_pack.NODE_CLASS_MAPPINGS["VolcengineSubjectMask"]
DEFAULTS = {name: spec[1]["default"] for name, spec in ERASE.INPUT_TYPES()["required"].items()
            if len(spec) > 1 and "default" in spec[1]}
LOGGERS = ("", "httpx", "httpcore", "httpcore.connection", "httpcore.http11", "hpack", "h11", "asyncio",
           "volc_pack", "volc_pack.utils.api.client", "volc_pack.utils.api.credentials", "volc_pack.nodes")


# --- the leak detector -------------------------------------------------------------------------------------------

class Secrets:
    """The values that must not appear. Distinctive ones are searched by every 6-character fragment; the
    stand-in's public pair (plain words such as 'secret' and 'EXAMPLE') only as whole strings."""

    def __init__(self, **values: str | None) -> None:
        self.values = {name: value for name, value in values.items() if value}

    def _fragments(self, value: str) -> list[str]:
        if value in (STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY):
            return [value]
        return [value[i:i + FRAGMENT] for i in range(len(value) - FRAGMENT + 1)]

    def found_in(self, text: str) -> list[str]:
        return [name for name, value in self.values.items() if any(f in text for f in self._fragments(value))]

    def check(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        leaked = self.found_in(text)
        assert not leaked, f"{', '.join(leaked)} leaked into {where}"


def rendered_exception(exc: BaseException) -> str:
    """Everything a host could show of an exception: str, repr, args, attributes, the formatted traceback (as
    ComfyUI's history stores it) and the same for every exception chained to it, shown or not."""
    parts, seen, current = ["".join(traceback.format_exception(exc))], set(), exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args), repr(getattr(current, "__dict__", {}))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def check_logs(secrets: Secrets, caplog) -> None:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        secrets.check(f"log record of {record.name}", formatter.format(record) + repr(record.__dict__))
    secrets.check("captured log text", caplog.text)




# --- environments --------------------------------------------------------------------------------------------------



def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EchoingServer:
    """A hostile or buggy endpoint that quotes back everything it received, credentials included."""

    def __init__(self, shape: str) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                # Credentials first: the client keeps only the first 200 characters of a server message.
                echo = (f"ak={ACCESS_KEY} sk={SECRET_KEY} token={TOKEN} "
                        f"X-Security-Token={self.headers.get('X-Security-Token')} "
                        f"Authorization={self.headers.get('Authorization')}")
                if outer.shape == "gateway":
                    body = {"ResponseMetadata": {"RequestId": "echo-1", "Error": {"Code": "InvalidAccessKey",
                                                                                "Message": echo}}}
                    status = 401
                else:
                    body = {"code": 50200, "message": echo, "request_id": "echo-2", "data": None}
                    status = 400
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.shape = shape
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the erase node, through success and every failure path --------------------------------------------------------

def photo(height: int = 96, width: int = 96, batch: int = 1) -> torch.Tensor:
    rng = np.random.default_rng(3)
    return torch.from_numpy(rng.random((batch, height, width, 3), dtype=np.float32))


def box(batch: int = 1) -> torch.Tensor:
    mask = torch.zeros((batch, 96, 96))
    mask[:, 30:60, 30:60] = 1.0
    return mask


NODE_PATHS = {
    # id: (environment, faults, node options, expected exception or None, batch)
    "success": ("good", [], {}, None, 1),
    "success-after-rate-limit-retry": ("good", [Fault("error", code=50429)], {}, None, 1),
    "success-after-ghost-face-new-seed": ("good", [Fault("ghost_face")], {}, None, 1),
    "success-return-url": ("good", [], {"return_url": True}, None, 1),
    "one-item-failed-kept-original": ("good", [Fault("error", code=50411)], {"on_item_error": "return original"},
                                      None, 2),
    "unknown-access-key": ("bad", [], {}, errors.GatewayAuthError, 1),
    "wrong-secret-key": ("good+bad-secret", [], {}, errors.GatewayAuthError, 1),
    "access-denied": ("good", [Fault("gateway", code="AccessDenied")], {}, errors.GatewayAuthError, 1),
    "invalid-timestamp": ("good", [Fault("gateway", code="InvalidTimestamp")], {}, errors.GatewayAuthError, 1),
    "internal-error-twice": ("good", [Fault("error", code=50500, times=2)], {}, errors.ServiceError, 1),
    "ghost-face-always": ("good", [Fault("ghost_face", times=3)], {}, errors.GhostFaceError, 1),
    "connection-reset": ("good", [Fault("reset")], {}, errors.NetworkError, 1),
    "truncated-json": ("good", [Fault("truncated_json")], {}, errors.ServiceError, 1),
    "bad-base64": ("good", [Fault("bad_base64")], {}, errors.ServiceError, 1),
    "expired-url": ("good", [Fault("expired_url")], {"return_url": True}, errors.ServiceError, 1),
    "read-timeout": ("good", [Fault("latency", seconds=3)], {"timeout": 0.4}, errors.RequestTimeoutError, 1),
    "connect-refused": ("bad+closed-port", [], {}, errors.ConnectFailedError, 1),
    "half-key-pair": ("bad-access-key-only", [], {}, errors.CredentialsError, 1),
    "plain-http-endpoint": ("bad+http-endpoint", [], {}, errors.InputError, 1),
    "echoing-gateway": ("bad+echo-gateway", [], {}, errors.GatewayAuthError, 1),
    "echoing-service": ("bad+echo-service", [], {}, errors.InputRejectedError, 1),
}


def prepare(kind: str, standin, monkeypatch, cleanup: list) -> Secrets:
    monkeypatch.setattr(node_common, "TIMEOUT_MIN", 0.1)  # lets "read-timeout" wait 0.4 s, not 5
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    if kind.startswith("good"):
        secret = SECRET_KEY if kind == "good+bad-secret" else STANDIN_SECRET_KEY
        monkeypatch.setenv("VOLC_SECRETKEY", secret)
        return Secrets(access_key=STANDIN_ACCESS_KEY, secret_key=secret, token=TOKEN)
    monkeypatch.setenv("VOLC_ACCESSKEY", ACCESS_KEY)
    if kind == "bad-access-key-only":
        monkeypatch.delenv("VOLC_SECRETKEY")
    else:
        monkeypatch.setenv("VOLC_SECRETKEY", SECRET_KEY)
    if kind == "bad+closed-port":
        monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    elif kind == "bad+http-endpoint":
        monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", "http://example.com")
    elif kind.startswith("bad+echo-"):
        server = EchoingServer(kind.removeprefix("bad+echo-"))
        cleanup.append(server.close)
        monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", server.endpoint)
    return Secrets(access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=TOKEN)
