"""Result URLs: where they may be fetched from, and the fetch. Only https hosts whose every address is public
(never loopback, private, link-local such as 169.254.169.254, or reserved), or the configured endpoint's own origin
when that is this machine (the stand-in); no redirects; the connection goes to the address that was checked, so a
DNS answer that changes between the check and the connect cannot redirect it. Size-capped; timed by the caller's
deadline like the rest of the attempt."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from .errors import NetworkError, ServiceError
from .scrub import Scrubber
from .transport import read_capped, request_timeout

DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def blocked_reason(address: str) -> str | None:
    """Why an address must not be fetched from, or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, reason in ((ip.is_loopback, "a loopback address"), (ip.is_link_local, "a link-local address"),
                         (ip.is_private, "a private address"), (ip.is_multicast, "a multicast address"),
                         (ip.is_unspecified or ip.is_reserved or not ip.is_global, "not a public address")):
        if flag:
            return reason
    return None


@dataclass
class Target:
    url: str                                      # what is requested: the checked address in place of the name
    host: str                                     # scrubbed, for messages
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


async def plan_download(url: str, endpoint: str, scrub: Scrubber, request_id: str) -> Target:
    """The checked fetch for a result URL, or a ServiceError saying why it is not fetched."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = scrub(host, 100) or "?"

    def refuse(why: str) -> ServiceError:
        return ServiceError(f"The result URL on {shown} {why}; it was not downloaded.",
                            hint="Run again; report it if it persists.", request_id=request_id or None)

    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        port = None
    if parts.scheme not in DEFAULT_PORTS or not host or port is None:
        raise refuse("is not a usable http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise refuse("carries a user name or password")
    if scrub.clean(url) != url:  # fetching it would hand our key to that host, and HTTP logs would show it
        raise refuse("carries this pack's credentials")
    own = urlsplit(endpoint)
    if is_loopback(own.hostname or "") and (parts.scheme, host.lower(), port) == \
            (own.scheme, (own.hostname or "").lower(), own.port or DEFAULT_PORTS.get(own.scheme)):
        return Target(url, shown)  # the configured stand-in's own results
    if parts.scheme != "https":
        raise refuse("is not https")
    addresses = await _resolve(host, port, shown, request_id)
    for address in addresses:
        reason = blocked_reason(address)
        if reason is not None:
            raise refuse(f"resolves to {address}, {reason}")
    if _proxied(host):
        return Target(url, shown)  # the proxy connects; pinning the address would break its TLS name check
    netloc = f"[{addresses[0]}]" if ":" in addresses[0] else addresses[0]
    pinned = urlunsplit(("https", f"{netloc}:{port}", parts.path or "/", parts.query, ""))
    # Host header and TLS name (SNI, certificate check) stay the URL's own name.
    return Target(pinned, shown, {"Host": parts.netloc}, {"sni_hostname": host})


async def _resolve(host: str, port: int, shown: str, request_id: str) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise NetworkError(f"The result URL's host {shown} could not be resolved.",
                           hint="Check the network and run again.", request_id=request_id or None) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise NetworkError(f"The result URL's host {shown} has no address.", hint="Run again.",
                           request_id=request_id or None)
    return addresses


def _proxied(host: str) -> bool:
    proxies = urllib.request.getproxies()
    return bool(proxies.get("https") or proxies.get("all")) and not urllib.request.proxy_bypass(host)


async def download(client: httpx.AsyncClient, target: Target, *, cap: int, connect_timeout: float,
                   request_id: str) -> bytes:
    """The bytes at `target`; ServiceError for an answer that is not a 200 (redirects included), NetworkError
    when the transfer fails. Neither is retried by the caller: the POST before it was answered (and billed)."""
    rid = request_id or None
    try:
        request = client.build_request("GET", target.url, headers=target.headers, extensions=target.extensions,
                                       timeout=request_timeout(connect_timeout))
        response = await client.send(request, stream=True)
        try:
            status = response.status_code
            if 300 <= status < 400:
                raise ServiceError(f"The result URL on {target.host} redirected (HTTP {status}); redirects are "
                                   "not followed, so it was not downloaded.", hint="Run again; report it if it "
                                   "persists.", http_status=status, request_id=rid)
            if status != 200:
                raise ServiceError(f"The result URL on {target.host} answered HTTP {status}; it may have expired "
                                   "(result URLs last 24 h).", hint="Run again.", http_status=status, request_id=rid)
            return await read_capped(response, cap, f"The result at {target.host}")
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        raise NetworkError(f"The result could not be downloaded from {target.host} ({type(exc).__name__}).",
                           hint="Check the network and run again.", request_id=rid) from None
