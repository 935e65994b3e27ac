"""The HTTP plumbing of the stand-in endpoint: a threading server on loopback whose handler delegates to the
StandIn, can answer with a TCP reset, a trickle or a body of unknown length, and whose open connections stop() can
cut."""
from __future__ import annotations

import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .checks import ApiError

JSON_TYPE = "application/json; charset=utf-8"
MAX_READ_BYTES = 64 * 1024 * 1024  # larger bodies are refused unread (50213) and the connection closed


@dataclass
class Reply:
    status: int | None  # None = reset the connection
    body: bytes = b""
    content_type: str = JSON_TYPE
    close: bool = False
    rate: float | None = None  # bytes per second: trickle the body
    headers: dict[str, str] = field(default_factory=dict)
    stream: Callable[[], Iterator[bytes]] | None = None  # a body of unknown length: sent, then the connection closed


def read_body(handler: BaseHTTPRequestHandler) -> tuple[bytes, ApiError | None]:
    """The request body; an ApiError (and nothing read) when it cannot or should not be read."""
    if handler.headers.get("Transfer-Encoding"):
        return b"", ApiError(50200, "send the body with Content-Length (chunked transfer is not supported here)")
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        return b"", ApiError(50200, "Content-Length is not a number")
    if length > MAX_READ_BYTES:
        return b"", ApiError(50213, f"Request body too large: {length} bytes, the limit is 16 MB")
    return handler.rfile.read(length), None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real clients pool connections
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._send(self.server.standin._handle_post(self))

    def do_GET(self) -> None:  # noqa: N802
        self._send(self.server.standin._handle_get(self))

    def _send(self, reply: Reply) -> None:
        self.close_connection = self.close_connection or reply.close or reply.stream is not None
        if reply.status is None:  # "reset": the request was read; now drop the connection with an RST
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.server.mark_reset(self.connection)
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.stream is None:
                self.send_header("Content-Length", str(len(reply.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if reply.stream is not None:
                for chunk in reply.stream():
                    self.wfile.write(chunk)
            elif reply.rate:
                self._trickle(reply.body, reply.rate)
            else:
                self.wfile.write(reply.body)
        except OSError:  # the client gave up (e.g. its read timeout during a "latency" fault)
            self.close_connection = True

    def _trickle(self, body: bytes, rate: float) -> None:
        """Send `body` at `rate` bytes per second, in about ten writes a second; stop() cuts it short."""
        step = max(1, int(rate / 10))
        stopping = self.server.standin.stopping
        for start in range(0, len(body), step):
            if start and stopping.wait(step / rate):
                self.close_connection = True
                return
            self.wfile.write(body[start:start + step])

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: tests create many servers
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for sleeping "latency" handlers
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], standin: Any) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.standin = standin
        self._open: set[socket.socket] = set()
        self.accepted = 0  # connections since the last reset_count(): tests check pooling with it
        self._resets: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, Handler)

    def track(self, conn: socket.socket, active: bool) -> None:
        with self._conn_lock:
            (self._open.add if active else self._open.discard)(conn)
            self.accepted += active

    def connection_counts(self, reset: bool = False) -> tuple[int, int]:
        """(connections accepted since the last reset, connections open now)."""
        with self._conn_lock:
            counts = (self.accepted, len(self._open))
            if reset:
                self.accepted = 0
            return counts

    def mark_reset(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._resets.add(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            reset = request in self._resets
            self._resets.discard(request)
        if reset:
            self.close_request(request)  # no FIN first: close with linger 0 sends the RST
        else:
            super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that went away is not an error of the stand-in
        super().handle_error(request, client_address)
