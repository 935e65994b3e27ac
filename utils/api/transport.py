"""HTTP plumbing: one pooled httpx client per endpoint and event loop, closed when the loop shuts down, and
answers read as a stream with a size cap. Deadlines are the caller's: asyncio.wait_for around a whole attempt,
so no socket-level read timeout is set here (a server trickling bytes would reset one forever)."""
from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from .errors import ConnectFailedError, NetworkError, ServiceError

# Connections per pool: the process-wide limiter (VOLC_MAX_CONCURRENCY) is the real bound on calls in flight.
POOL_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=8)

# The loop owns the sockets, so a pool cannot be shared across loops (ComfyUI runs each prompt on a fresh loop,
# the settings routes on the server's). Per loop: one client per endpoint and proxy settings, never per timeout.
_POOLS_LOCK = threading.Lock()
_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, tuple[httpx.AsyncClient, Any]]] = \
    weakref.WeakKeyDictionary()


async def pool_for(endpoint: str) -> httpx.AsyncClient:
    """The pooled client for `endpoint` (scheme://host:port) on the running loop."""
    loop = asyncio.get_running_loop()
    key = (endpoint, tuple(sorted((k, v) for k, v in os.environ.items() if k.lower().endswith("_proxy"))))
    with _POOLS_LOCK:  # loops on other threads share the registry; nothing awaits in here
        pools = _POOLS.setdefault(loop, {})
        entry = pools.get(key)
        fresh = entry is None or entry[0].is_closed
        if fresh:
            client = httpx.AsyncClient(timeout=None, trust_env=True, follow_redirects=False, limits=POOL_LIMITS)
            entry = pools[key] = (client, _close_with_loop(client))
    if fresh:
        # A started async generator is closed by the loop's shutdown_asyncgens(), which asyncio.run() calls: the
        # pool's connections are closed when the loop ends, without any caller having to remember it.
        await entry[1].__anext__()
    return entry[0]


async def _close_with_loop(client: httpx.AsyncClient) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await client.aclose()


def pool_count(loop: asyncio.AbstractEventLoop | None = None) -> int:
    """Open pools on `loop` (default: the running one); for tests and diagnostics."""
    with _POOLS_LOCK:
        pools = dict(_POOLS.get(loop or asyncio.get_running_loop(), {}))
    return sum(not client.is_closed for client, _ in pools.values())


def request_timeout(connect_timeout: float) -> httpx.Timeout:
    """Only connecting is timed by httpx (a refused or silent host is then retried as a connect failure); the
    rest of an attempt is bounded by the caller's deadline."""
    return httpx.Timeout(None, connect=connect_timeout)


async def read_capped(response: httpx.Response, cap: int, what: str) -> bytes:
    """The body of a streamed response, refused as soon as it exceeds `cap` bytes (declared or received)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(what, cap, response.status_code)
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is capped too
        size += len(chunk)
        if size > cap:
            raise _too_large(what, cap, response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(what: str, cap: int, status: int) -> ServiceError:
    size = f"{cap // 2**20} MB" if cap >= 2**20 else f"{cap:,} bytes"
    return ServiceError(f"{what} exceeds {size}; reading stopped.", hint="Run again; report it if it persists.",
                        http_status=status)


async def post(client: httpx.AsyncClient, url: str, payload: bytes, headers: dict[str, str], *,
               connect_timeout: float, cap: int, note: Callable[[str], None] = lambda phase: None) -> tuple[int, bytes]:
    """(status, body) of one POST; ConnectFailedError when the request never reached the server, NetworkError
    when the connection broke after it was sent. `note` hears which phase the exchange is in."""
    host = httpx.URL(url).netloc.decode("ascii", "replace")
    try:
        request = client.build_request("POST", url, content=payload, headers=headers,
                                       timeout=request_timeout(connect_timeout))
        note("sending the request or waiting for the answer")
        response = await client.send(request, stream=True)
        note("reading the answer")
        try:
            return response.status_code, await read_capped(response, cap, "The service's answer")
        finally:
            await response.aclose()
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
        raise ConnectFailedError(f"Could not connect to {host} ({type(exc).__name__}).",
                                 hint="Check the network, proxy settings (HTTPS_PROXY) and VOLC_VISUAL_ENDPOINT.",
                                 code="connect") from None
    except httpx.TransportError as exc:
        raise NetworkError(f"The connection to {host} broke before an answer arrived ({type(exc).__name__}).",
                           hint="The call may have been billed, so it was not repeated; run again.") from None
