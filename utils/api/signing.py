"""Volcengine Signature V4 (HMAC-SHA256), byte for byte what the official SDK's SignerV4 does.

Only this module knows the signing rules; the client signs with `sign_request` and the stand-in
endpoint verifies with `verify_request`, so both sides can never drift apart silently.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = "HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _quote(text: str) -> str:
    # The SDK escapes everything but unreserved characters: space -> %20, "/" -> %2F.
    return quote(text, safe="-_.~")


def canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    # Sorted by key only (stable), so repeated keys keep their order as the SDK does.
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(pairs, key=lambda kv: kv[0]))


def _canonical_host(netloc: str) -> str:
    host = netloc.rsplit("@", 1)[-1]
    for default_port in (":80", ":443"):
        if host.endswith(default_port):
            return host[: -len(default_port)]
    return host


def _is_signed(name: str) -> bool:
    lower = name.lower()
    return lower in ("content-type", "content-md5", "host") or lower.startswith("x-")


def _signature(method: str, path: str, query: str, headers: Mapping[str, str], body_hash: str,
               secret_key: str, short_date: str, x_date: str, region: str, service: str) -> tuple[str, str]:
    signed = sorted((k.lower(), v) for k, v in headers.items() if _is_signed(k))
    names = ";".join(k for k, _ in signed)
    header_block = "".join(f"{k}:{v}\n" for k, v in signed)
    canonical = "\n".join([method.upper(), quote(unquote(path or "/")), canonical_query(query), header_block, names,
                           body_hash])
    scope = f"{short_date}/{region}/{service}/request"
    to_sign = "\n".join([ALGORITHM, x_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = secret_key.encode("utf-8")
    for part in (short_date, region, service, "request"):
        key = _hmac(key, part)
    return names, hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_request(method: str, url: str, headers: Mapping[str, str], body: bytes, access_key: str,
                 secret_key: str, *, region: str = "cn-north-1", service: str = "cv",
                 session_token: str | None = None, now: datetime | None = None) -> dict[str, str]:
    """Return every header to send: the given ones plus Host, X-Date, X-Content-Sha256,
    Authorization and, with STS credentials, X-Security-Token (which is signed too)."""
    parts = urlsplit(url)
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    x_date = moment.strftime(DATE_FORMAT)
    out = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "host")}
    out["Host"] = parts.netloc
    out["X-Date"] = x_date
    out["X-Content-Sha256"] = hashlib.sha256(body).hexdigest()
    if session_token:
        out["X-Security-Token"] = session_token
    signable = {k: (_canonical_host(v) if k == "Host" else v) for k, v in out.items()}
    names, signature = _signature(method, parts.path, parts.query, signable, out["X-Content-Sha256"],
                                  secret_key, x_date[:8], x_date, region, service)
    out["Authorization"] = (f"{ALGORITHM} Credential={access_key}/{x_date[:8]}/{region}/{service}/request, "
                            f"SignedHeaders={names}, Signature={signature}")
    return out


@dataclass(frozen=True)
class Authorization:
    access_key: str
    short_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Authorization | None:
    """Split an Authorization header; None when it is not a well-formed HMAC-SHA256 one."""
    if not value.startswith(ALGORITHM + " "):
        return None
    fields = {}
    for item in value[len(ALGORITHM) + 1:].split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            return None
        fields[key] = val
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or scope[4] != "request" or "Signature" not in fields or "SignedHeaders" not in fields:
        return None
    return Authorization(scope[0], scope[1], scope[2], scope[3],
                         tuple(fields["SignedHeaders"].split(";")), fields["Signature"])


def verify_request(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
                   auth: Authorization, secret_key: str) -> bool:
    """Recompute the signature the way a server does: over the headers the client says it signed."""
    lower = {k.lower(): v for k, v in headers.items()}
    if any(name not in lower for name in auth.signed_headers):
        return False
    x_date = lower.get("x-date", "")
    if x_date[:8] != auth.short_date or hashlib.sha256(body).hexdigest() != lower.get("x-content-sha256"):
        return False
    chosen = {n: (_canonical_host(lower[n]) if n == "host" else lower[n]) for n in auth.signed_headers}
    _, expected = _signature(method, path, query, chosen, lower["x-content-sha256"], secret_key,
                             auth.short_date, x_date, auth.region, auth.service)
    return hmac.compare_digest(expected, auth.signature)
