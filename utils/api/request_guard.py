"""Which browser requests may reach the Settings > Volcengine routes: plain functions of the request headers.

Two attacks are kept out:
- Cross-site requests: a page on another site posting to ComfyUI on localhost. Its Origin (or Sec-Fetch-Site) names
  the other site, so `cross_origin_reason` refuses it.
- DNS rebinding: a page on evil.example:8188 whose name is re-pointed at 127.0.0.1 after it loaded. Its requests are
  same-origin as far as the browser knows (Host and Origin both say evil.example:8188), so only the Host header gives
  it away: `HostPolicy` accepts a Host only when it is a loopback address or `localhost`, an address ComfyUI listens
  on (--listen), or a name the user allowed in VOLC_SETTINGS_ALLOWED_HOSTS. Names are never resolved: resolving
  evil.example is exactly what the attacker controls.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

ENV_ALLOWED_HOSTS = "VOLC_SETTINGS_ALLOWED_HOSTS"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ALL_ADDRESSES = {"0.0.0.0", "::"}


def _host_port(text: str, scheme: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit("//" + text.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower().strip("[]"), port or _DEFAULT_PORTS.get(scheme, 0)


def cross_origin_reason(headers: Mapping[str, str]) -> str | None:
    """Why a request must be refused as coming from another site, or None when it may proceed.

    Sec-Fetch-Site other than same-origin/none is refused. An Origin header must name the same host and port as the
    Host header (or X-Forwarded-Host, for reverse proxies that rewrite Host; a browser page cannot set that header on
    a cross-origin request without a preflight, which ComfyUI does not grant). Requests without either header (curl,
    scripts on the machine) pass: they are not a browser being abused by another site."""
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site.strip().lower() not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {site.strip()[:20]!r}"
    origin = headers.get("Origin")
    if origin is None:
        return None
    try:
        parts = urlsplit(origin.strip())
        origin_port = parts.port
    except ValueError:
        return "the Origin header is malformed"
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return f"Origin {origin[:80]!r} is not an http(s) origin"
    wanted = (parts.hostname.lower().strip("[]"), origin_port or _DEFAULT_PORTS[scheme])
    candidates = [headers.get("Host", "")]
    forwarded = headers.get("X-Forwarded-Host")
    if forwarded:
        candidates.append(forwarded.split(",")[0])
    for candidate in candidates:
        if candidate and _host_port(candidate, scheme) == wanted:
            return None
    return f"Origin {origin[:80]!r} does not match Host {headers.get('Host', '')[:80]!r}"


def _split_host(text: str) -> tuple[str, int | None] | None:
    """("name", port or None) of a Host header value or an allow-list entry; None when malformed."""
    try:
        parts = urlsplit("//" + text.strip())
        port = parts.port
    except ValueError:
        return None
    name = (parts.hostname or "").strip("[]").rstrip(".")
    if not name or parts.username is not None or parts.path or parts.query:
        return None
    return name, port


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class HostPolicy:
    """The names this ComfyUI may be addressed by. `listen`: ComfyUI's --listen value (comma-separated addresses);
    `allowed`: extra "name" or "name:port" entries (VOLC_SETTINGS_ALLOWED_HOSTS)."""

    listen: tuple[str, ...] = ("127.0.0.1",)
    allowed: tuple[tuple[str, int | None], ...] = ()

    @classmethod
    def from_settings(cls, listen: str | None, environ: Mapping[str, str]) -> HostPolicy:
        addresses = tuple(a.strip().strip("[]").lower() for a in (listen or "127.0.0.1").split(",") if a.strip())
        return cls(addresses, tuple(parse_allowed(environ.get(ENV_ALLOWED_HOSTS, ""))))

    def _listens_everywhere(self) -> bool:
        return any(address in _ALL_ADDRESSES for address in self.listen)

    def refusal(self, headers: Mapping[str, str]) -> str | None:
        """Why the request's Host (and, behind a proxy, X-Forwarded-Host) is not acceptable, or None."""
        host = headers.get("Host")
        if not host:
            return "the request has no Host header"
        claimed = [host] + [h for h in (headers.get("X-Forwarded-Host") or "").split(",") if h.strip()]
        for value in claimed:
            if not self.accepts(value):
                return f"Host {value.strip()[:80]!r} is not this machine"
        return None

    def accepts(self, value: str) -> bool:
        parsed = _split_host(value)
        if parsed is None:
            return False
        name, port = parsed[0].lower(), parsed[1]
        if any(name == a_name and a_port in (None, port) for a_name, a_port in self.allowed):
            return True
        if name == "localhost" or name in self.listen:
            return True
        address = _ip(name)
        if address is None:
            return False
        # An address typed as such cannot be re-pointed by a DNS answer; when ComfyUI listens on every interface,
        # any of the machine's addresses (or a LAN peer's view of it) is a legitimate way to reach it.
        return address.is_loopback or self._listens_everywhere()


def parse_allowed(text: str) -> Iterable[tuple[str, int | None]]:
    """Entries of VOLC_SETTINGS_ALLOWED_HOSTS: host names or addresses, optionally with :port, separated by commas
    or spaces. Malformed entries are skipped."""
    for entry in text.replace(",", " ").split():
        parsed = _split_host(entry)
        if parsed is not None:
            yield parsed[0].lower(), parsed[1]
