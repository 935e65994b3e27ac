"""HTTP routes behind the Volcengine section of ComfyUI's settings (web/volcengine_settings.js).

    GET    /volcengine/credentials         status: configured, source, key_hint (last 4 characters) - never the secret
    POST   /volcengine/credentials         save {access_key, secret_key, session_token?} to the user directory
    DELETE /volcengine/credentials         remove the stored file
    POST   /volcengine/credentials/check   one signed saliency call with the key pair the nodes would use

ComfyUI serves each route under /api too. Every request whose Origin or Sec-Fetch-Site says it comes from another site
is refused (a page on the internet must not be able to drive a ComfyUI on localhost); POSTs must be JSON (which also
forces a CORS preflight in browsers) and at most 16 KB. No response and no log line carries the secret or the token.

Plain aiohttp, no ComfyUI import: the root __init__.py hands `install()` ComfyUI's route table and the store path
(nodes/comfy_bridge.py finds both), and tests serve the same handlers from aiohttp's test server
(`register(routes, store_path)` on a fresh `web.RouteTableDef`). aiohttp itself is imported lazily.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import credential_store as store
from .credentials import resolve_credentials
from .errors import CredentialsError, NetworkError, VolcError

log = logging.getLogger(__name__)

ROUTE = "/volcengine/credentials"
CHECK_ROUTE = ROUTE + "/check"
MAX_BODY_BYTES = 16 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Outcomes of the check route, for the front end.
OK, KEY_NOT_FOUND, SIGNATURE_WRONG, NO_PERMISSION = "ok", "key_not_found", "signature_wrong", "no_permission"
NETWORK, NOT_CONFIGURED, OTHER = "network", "not_configured", "other"
_PERMISSION_CODES = {"AccessDenied", "LackPolicy", "50400"}


def _web():
    from aiohttp import web

    return web


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


def probe_image() -> bytes:
    """A 128x128 PNG with a bright disc on a dark gradient: something for saliency_seg to find."""
    from PIL import Image, ImageDraw

    image = Image.linear_gradient("L").resize((128, 128)).convert("RGB")
    image = Image.eval(image, lambda v: v // 4)
    ImageDraw.Draw(image).ellipse((36, 36, 92, 92), fill=(240, 200, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def classify(exc: BaseException) -> tuple[str, str]:
    """(outcome, sentence) for an error from the check call."""
    code = str(getattr(exc, "code", None) or "")
    if isinstance(exc, CredentialsError):
        return NOT_CONFIGURED, str(exc)
    if code == "InvalidAccessKey":
        return KEY_NOT_FOUND, "Volcengine does not know this access key. " + str(exc)
    if code == "SignatureDoesNotMatch":
        return SIGNATURE_WRONG, "The access key exists but the secret key does not belong to it. " + str(exc)
    if code in _PERMISSION_CODES:
        return NO_PERMISSION, "The key pair is valid but lacks permission for the visual service. " + str(exc)
    if isinstance(exc, NetworkError):
        return NETWORK, str(exc)
    if isinstance(exc, VolcError):
        return OTHER, str(exc)
    return OTHER, f"The check failed unexpectedly ({type(exc).__name__})."


class CredentialRoutes:
    """The handlers, bound to one store path. `environ`/`home` default to the process's (tests pass their own);
    `client_config` builds the ClientConfig of the check call (default: endpoint from VOLC_VISUAL_ENDPOINT)."""

    def __init__(self, store_path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None,
                 home: Path | None = None, client_config: Callable[[], Any] | None = None) -> None:
        self.store_path = Path(store_path)
        self.environ = environ
        self.home = home
        self.client_config = client_config
        self._check_lock = asyncio.Lock()

    # --- helpers ---
    @staticmethod
    def _error(status: int, message: str, field: str | None = None):
        body: dict[str, Any] = {"ok": False, "error": message}
        if field:
            body["field"] = field
        return _web().json_response(body, status=status, headers={"Cache-Control": "no-store"})

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200):
        return _web().json_response(body, status=status, headers={"Cache-Control": "no-store"})

    def _status(self) -> dict[str, Any]:
        return store.status(self.environ, self.home, self.store_path)

    def _refused(self, request):
        reason = cross_origin_reason(request.headers)
        if reason is None:
            return None
        log.warning("Volcengine credentials: refused a cross-origin %s %s (%s)", request.method, request.path, reason)
        return self._error(403, "Cross-origin request refused: open ComfyUI itself to change these settings.")

    async def _read_json(self, request, *, allow_empty: bool = False):
        """(data, None) or (None, error response). Checks content type and size before parsing."""
        if request.content_type != "application/json":
            return None, self._error(415, "Send the body as application/json.")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return None, self._error(413, f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
        chunks, size = [], 0
        while True:
            chunk = await request.content.read(4096)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None, self._error(413, f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip() and allow_empty:
            return {}, None
        try:
            return json.loads(raw.decode("utf-8")), None
        except (UnicodeDecodeError, ValueError):
            return None, self._error(400, "The body is not valid JSON.")

    # --- handlers ---
    async def get_status(self, request):
        refused = self._refused(request)
        if refused is not None:
            return refused
        return self._json({"ok": True, **self._status()})

    async def post_save(self, request):
        refused = self._refused(request)
        if refused is not None:
            return refused
        data, error = await self._read_json(request)
        if error is not None:
            return error
        try:
            creds = store.validate(data)
        except store.StoreValidationError as exc:
            return self._error(400, exc.message, exc.field)
        try:
            store.save(self.store_path, creds)
        except OSError as exc:
            log.error("Volcengine credentials: could not write %s (%s)", self.store_path, type(exc).__name__)
            return self._error(500, f"Could not write {self.store_path} ({type(exc).__name__}); "
                                    "check that ComfyUI's user directory is writable.")
        return self._json({"ok": True, "saved": True, **self._status()})

    async def delete(self, request):
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            removed = store.delete(self.store_path)
        except OSError as exc:
            log.error("Volcengine credentials: could not remove %s (%s)", self.store_path, type(exc).__name__)
            return self._error(500, f"Could not remove {self.store_path} ({type(exc).__name__}).")
        return self._json({"ok": True, "removed": removed, **self._status()})

    async def post_check(self, request):
        refused = self._refused(request)
        if refused is not None:
            return refused
        data, error = await self._read_json(request, allow_empty=True)
        if error is not None:
            return error
        if not isinstance(data, dict) or data:
            return self._error(400, "The check takes no arguments: it tests the key pair the nodes would use.")
        if self._check_lock.locked():
            return self._error(429, "A check is already running; wait for its result.")
        async with self._check_lock:
            body = await self._run_check()
        return self._json({"ok": True, **body})

    async def _run_check(self) -> dict[str, Any]:
        from .client import ClientConfig, VisualClient

        result: dict[str, Any] = {"outcome": OTHER, "message": "", "source": None, "key_hint": None,
                                  "request_id": None}
        try:
            creds = resolve_credentials(self.environ, self.home, self.store_path)
            result.update(source=creds.source, key_hint=creds.hint)
            config = self.client_config() if self.client_config else ClientConfig(
                connect_timeout=10.0, read_timeout=30.0, max_connect_retries=0, max_rate_limit_retries=0)
            answer = await VisualClient(creds, config).saliency(probe_image())
        except Exception as exc:  # noqa: BLE001  (every failure is an outcome; str(VolcError) holds no secret)
            outcome, message = classify(exc)
            result.update(outcome=outcome, message=message, request_id=getattr(exc, "request_id", None))
            log.info("Volcengine credentials check: %s (%s)", outcome, getattr(exc, "code", None) or
                     type(exc).__name__)
            return result
        result.update(outcome=OK, request_id=answer.request_id or None,
                      message=f"The key pair works: a test call to the visual service succeeded "
                              f"(access key {creds.hint}, from {creds.source}).")
        log.info("Volcengine credentials check: ok (access key %s, from %s)", creds.hint, creds.source)
        return result


def register(routes, store_path: str | os.PathLike[str], **options: Any) -> CredentialRoutes:
    """Add the four routes to an aiohttp RouteTableDef (ComfyUI's `PromptServer.instance.routes`)."""
    handlers = CredentialRoutes(store_path, **options)
    routes.get(ROUTE)(handlers.get_status)
    routes.post(ROUTE)(handlers.post_save)
    routes.delete(ROUTE)(handlers.delete)
    routes.post(CHECK_ROUTE)(handlers.post_check)
    return handlers


def _already_registered(routes) -> bool:
    try:
        return any(getattr(route, "path", None) == ROUTE for route in routes)
    except TypeError:
        return False


def install(routes, store_path: str | os.PathLike[str], **options: Any) -> None:
    """Register the routes on ComfyUI's table (`PromptServer.instance.routes`) unless a previous load of the pack did;
    the key pair is kept in `store_path`."""
    if not _already_registered(routes):
        register(routes, store_path, **options)
    log.info("Volcengine: credentials from Settings > Volcengine are stored in %s", store_path)
