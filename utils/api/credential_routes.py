"""HTTP routes behind the Volcengine section of ComfyUI's settings (web/volcengine_settings.js).

    GET    /volcengine/credentials         status: configured, source, key_hint (last 4 characters) - never the secret
    POST   /volcengine/credentials         save {access_key, secret_key, session_token?} to the user directory
    DELETE /volcengine/credentials         remove the stored file
    POST   /volcengine/credentials/check   unbilled probes of the key pair the nodes would use (credential_check.py)

ComfyUI serves each route under /api too. A request is refused (403) when its Host is not a name of this machine (DNS
rebinding) or its Origin or Sec-Fetch-Site says it comes from another site (request_guard.py); POSTs must be JSON
(which also forces a CORS preflight in browsers), at most 16 KB and nested at most a few levels. No response carries
a server path, and no response or log line the secret or the token.

Plain aiohttp, no ComfyUI import: the root __init__.py hands `install()` ComfyUI's route table and the store path
(nodes/comfy_bridge.py finds both), and tests serve the same handlers from aiohttp's test server
(`register(routes, store_path)` on a fresh `web.RouteTableDef`). aiohttp itself is imported lazily.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import credential_store as store
from .client import ClientConfig, VisualClient
from .credential_check import OTHER, check, failure_sentence, outcome_of
from .credentials import resolve_credentials
from .errors import CredentialsError
from .request_guard import ENV_ALLOWED_HOSTS, HostPolicy, cross_origin_reason

log = logging.getLogger(__name__)

ROUTE = "/volcengine/credentials"
CHECK_ROUTE = ROUTE + "/check"
MAX_BODY_BYTES = 16 * 1024


def _web():
    from aiohttp import web

    return web


MAX_DEPTH = 8  # the bodies are flat objects; a deeper one is refused before parsing (deep JSON exhausts the stack)


def nesting_depth(raw: bytes) -> int:
    """How deeply arrays/objects nest in a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


class CredentialRoutes:
    """The handlers, bound to one store path. `environ`/`home` default to the process's (tests pass their own);
    `client_config` builds the ClientConfig of the check call (default: endpoint from VOLC_VISUAL_ENDPOINT);
    `hosts` says which Host names are this machine (default: loopback only)."""

    def __init__(self, store_path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None,
                 home: Path | None = None, client_config: Callable[[], Any] | None = None,
                 hosts: HostPolicy | None = None) -> None:
        self.store_path = Path(store_path)
        self.environ = environ
        self.home = home
        self.client_config = client_config
        self.hosts = hosts or HostPolicy()
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

    def _public(self, text: str) -> str:
        return store.without_paths(text, self.store_path, Path.home() if self.home is None else self.home)

    def _refused(self, request):
        reason = self.hosts.refusal(request.headers)
        if reason is not None:
            log.warning("Volcengine credentials: refused %s %s: %s (to allow a name, add it to %s)", request.method,
                        request.path, reason, ENV_ALLOWED_HOSTS)
            return self._error(403, f"Refused: this request names another host. If you reach ComfyUI by that name "
                                    f"on purpose, add it to {ENV_ALLOWED_HOSTS} and restart ComfyUI.")
        reason = cross_origin_reason(request.headers)
        if reason is not None:
            log.warning("Volcengine credentials: refused a cross-origin %s %s (%s)", request.method, request.path,
                        reason)
            return self._error(403, "Cross-origin request refused: open ComfyUI itself to change these settings.")
        return None

    async def _read_json(self, request, *, allow_empty: bool = False):
        """(data, None) or (None, error response). Checks content type, size and depth before parsing."""
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
        if nesting_depth(raw) > MAX_DEPTH:
            return None, self._error(400, f"The body nests deeper than {MAX_DEPTH} levels; send a flat JSON object.")
        try:
            return json.loads(raw.decode("utf-8")), None
        except (UnicodeDecodeError, ValueError, RecursionError):
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
        _, failed = self._change_file(lambda path: store.save(path, creds), "saved", "write")
        if failed is not None:
            return failed
        return self._json({"ok": True, "saved": True, **self._status()})

    async def delete(self, request):
        refused = self._refused(request)
        if refused is not None:
            return refused
        removed, failed = self._change_file(store.delete, "removed", "remove")
        if failed is not None:
            return failed
        return self._json({"ok": True, "removed": removed, **self._status()})

    def _change_file(self, change: Callable[[Path], Any], done: str, verb: str):
        """(change(store path), None), or (None, an error answer): the log names the path, the answer does not."""
        try:
            return change(self.store_path), None
        except CredentialsError as exc:  # the folder is a symbolic link
            log.error("Volcengine credentials: not %s (%s): %s", done, self.store_path, exc.message)
            return None, self._error(409, f"Not {done}. {exc}")
        except OSError as exc:
            log.error("Volcengine credentials: could not %s %s (%s)", verb, self.store_path, type(exc).__name__)
            return None, self._error(500, f"Could not {verb} the credentials file ({type(exc).__name__}); check that "
                                          "ComfyUI's user directory is writable (the server log names the path).")

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
        for name in ("message", "source"):
            if body.get(name):
                body[name] = self._public(body[name])
        return self._json({"ok": True, **body})

    async def _run_check(self) -> dict[str, Any]:
        result: dict[str, Any] = {"outcome": OTHER, "message": "", "source": None, "key_hint": None,
                                  "request_id": None, "services": {}}
        try:
            creds = resolve_credentials(self.environ, self.home, self.store_path)
            result.update(source=creds.source, key_hint=creds.hint)
            config = self.client_config() if self.client_config else ClientConfig(
                connect_timeout=10.0, read_timeout=30.0, max_connect_retries=0, max_rate_limit_retries=0)
            result.update(await check(creds, VisualClient(creds, config)))
        except Exception as exc:  # noqa: BLE001  (every failure is an outcome; str(VolcError) holds no secret)
            outcome = outcome_of(exc)
            result.update(outcome=outcome, message=failure_sentence(outcome, exc),
                          request_id=getattr(exc, "request_id", None))
        log.info("Volcengine credentials check: %s (access key %s, from %s; %s)", result["outcome"],
                 result["key_hint"], result["source"], result["services"])
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


def install(routes, store_path: str | os.PathLike[str], *, listen: str | None = None, **options: Any) -> None:
    """Register the routes on ComfyUI's table (`PromptServer.instance.routes`) unless a previous load of the pack did;
    the key pair is kept in `store_path`. `listen`: ComfyUI's --listen value; with VOLC_SETTINGS_ALLOWED_HOSTS it
    says which Host names are this machine."""
    if not _already_registered(routes):
        options.setdefault("hosts", HostPolicy.from_settings(listen, os.environ))
        register(routes, store_path, **options)
    log.info("Volcengine: credentials from Settings > Volcengine are stored in %s", store_path)
