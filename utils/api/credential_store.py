"""The key pair a user enters in ComfyUI's settings (Settings > Volcengine), kept in one small JSON file.

Plain Python (no ComfyUI, no aiohttp): credential_routes.py beside it serves it over HTTP.

- The file lives in ComfyUI's user directory but outside any user's own folder (`<user dir>/volcengine/`, a sibling of
  `<user dir>/default/`), so ComfyUI's /userdata API, which serves a user's folder, cannot read it, and it survives
  updates of the pack.
- Its folder must be a real folder: when `volcengine/` is a symbolic link the pair is neither written, read nor
  deleted through it (CredentialsError), since a link could put the secret where ComfyUI serves or others read it.
- It is written atomically: a temporary file in the same directory, created 0600, fsync'ed, then os.replace'd over the
  old one; a failure at any step leaves the old file as it was. The directory is 0700.
- Nothing here ever returns, logs or puts into an exception message the secret key or the session token; the access
  key only as `key_hint` (its last 4 characters).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .credentials import (ENV_ACCESS_KEY, ENV_SECRET_KEY, key_hint, read_json, refuse_linked_folder,
                          resolve_credentials)
from .errors import CredentialsError

log = logging.getLogger(__name__)

STORE_DIRNAME = "volcengine"
STORE_FILENAME = "credentials.json"
SOURCE_SETTINGS = "ComfyUI settings"  # the source name utils.api.credentials gives this file

MAX_ACCESS_KEY = 128
MAX_SECRET_KEY = 256
MAX_SESSION_TOKEN = 4096
FIELDS = ("access_key", "secret_key", "session_token")
_WHITESPACE = " \t\r\n"


class StoreValidationError(ValueError):
    """A submitted value has the wrong shape. The message names the field, never its value."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class StoredCredentials:
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        token = ", session token" if self.session_token else ""
        return f"StoredCredentials(access key {key_hint(self.access_key)}{token})"

    __str__ = __repr__

    def to_json(self) -> dict[str, str]:
        data = {"access_key": self.access_key, "secret_key": self.secret_key}
        if self.session_token:
            data["session_token"] = self.session_token
        return data


def default_store_path(user_directory: str | os.PathLike[str]) -> Path:
    """`<ComfyUI user dir>/volcengine/credentials.json`."""
    return Path(user_directory) / STORE_DIRNAME / STORE_FILENAME


def _token_shape(name: str, label: str, value: Any, max_len: int, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise StoreValidationError(name, f"The {label} must be text.")
    value = value.strip(_WHITESPACE)
    if not value:
        if required:
            raise StoreValidationError(name, f"The {label} is empty.")
        return None
    if len(value) > max_len:
        raise StoreValidationError(name, f"The {label} is too long ({len(value)} characters; at most {max_len}).")
    if not all("\x21" <= ch <= "\x7e" for ch in value):
        raise StoreValidationError(name, f"The {label} may only contain printable ASCII characters without spaces; "
                                         "check that it was copied completely and nothing else came with it.")
    return value


def validate(data: Any) -> StoredCredentials:
    """Check a submitted object {access_key, secret_key, session_token?}; surrounding whitespace is dropped.

    Access key: 1..128 printable non-space ASCII characters; secret key 1..256; session token optional, up to 4096.
    Raises StoreValidationError naming the first bad field (never echoing a value)."""
    if not isinstance(data, Mapping):
        raise StoreValidationError("", "Expected a JSON object with access_key, secret_key and session_token.")
    unknown = sorted(str(k)[:40] for k in data if k not in FIELDS)
    if unknown:
        raise StoreValidationError(unknown[0], f"Unknown field {unknown[0]!r}; expected access_key, secret_key and "
                                               "optionally session_token.")
    access_key = _token_shape("access_key", "access key", data.get("access_key"), MAX_ACCESS_KEY, required=True)
    secret_key = _token_shape("secret_key", "secret key", data.get("secret_key"), MAX_SECRET_KEY, required=True)
    token = _token_shape("session_token", "session token", data.get("session_token"), MAX_SESSION_TOKEN,
                         required=False)
    assert access_key is not None and secret_key is not None
    return StoredCredentials(access_key, secret_key, token)


def _private_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(directory, 0o700)  # our own folder: tighten it if it was created looser
    except OSError:  # e.g. a file system without POSIX modes
        log.debug("could not chmod %s", directory)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(path: str | os.PathLike[str], credentials: StoredCredentials) -> Path:
    """Write the key pair to `path` atomically, readable by its owner only (0600; the directory 0700).
    CredentialsError when the folder is a symbolic link, OSError when writing fails."""
    path = refuse_linked_folder(Path(path))
    _private_dir(path.parent)
    payload = (json.dumps(credentials.to_json(), indent=2) + "\n").encode("utf-8")
    # mkstemp creates the file with O_EXCL and mode 0600, so the secret is never readable by others, not even briefly.
    fd, tmp_name = tempfile.mkstemp(prefix=".credentials-", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            try:
                os.fchmod(handle.fileno(), 0o600)
            except (AttributeError, OSError):  # Windows has no fchmod
                pass
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    log.info("Volcengine credentials (access key %s) saved to %s", key_hint(credentials.access_key), path)
    return path


def load(path: str | os.PathLike[str]) -> StoredCredentials | None:
    """The stored key pair, None when there is no file. CredentialsError when the file is unreadable or malformed
    or its folder is a symbolic link."""
    path = refuse_linked_folder(Path(path))
    data = read_json(path, "Remove the stored credentials and enter them again.")
    if data is None:
        return None
    try:
        return validate({k: v for k, v in data.items() if k in FIELDS} if isinstance(data, dict) else data)
    except StoreValidationError as exc:
        raise CredentialsError(f"{path} holds no usable key pair: {exc.message}",
                               hint="Remove the stored credentials and enter them again.") from None


def delete(path: str | os.PathLike[str]) -> bool:
    """Remove the stored file; True when there was one. CredentialsError when the folder is a symbolic link."""
    path = refuse_linked_folder(Path(path))
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    _fsync_dir(path.parent)
    log.info("Volcengine credentials removed from %s", path)
    return True


def is_private(path: str | os.PathLike[str]) -> bool | None:
    """True when only the owner may read the file (POSIX), None when that cannot be told or there is no file."""
    if os.name != "posix":
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return mode & 0o077 == 0


def without_paths(text: str, stored: Path | None, home: Path) -> str:
    """`text` with the server's paths replaced: the settings file by its name in the UI, the home folder by ~."""
    if stored is not None:
        text = text.replace(str(stored), "The Settings > Volcengine file")
    home_text = str(home).rstrip("/\\")
    return text.replace(home_text, "~") if len(home_text) > 1 else text


def status(environ: Mapping[str, str] | None = None, home: Path | None = None,
           stored_path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What the credentials chain resolves to, safe to show in a browser.

    configured/source/key_hint describe the key pair the nodes will use (source: "environment", "ComfyUI settings",
    "~/.volc/credentials", "~/.volc/config" or None). stored/stored_key_hint describe this settings file, and shadowed
    says when a source earlier in the chain (the environment) wins over it. No secret, token or full access key is
    ever included, and no server path: the settings file is named as such and the home folder as ~.
    stored_path None: there is no settings file (outside ComfyUI)."""
    home = Path.home() if home is None else home
    stored = Path(stored_path) if stored_path is not None else None
    result: dict[str, Any] = {
        "configured": False, "source": None, "key_hint": None, "session_token": False, "error": None,
        "stored": False, "stored_key_hint": None, "stored_private": None, "shadowed": False,
        "env_names": [ENV_ACCESS_KEY, ENV_SECRET_KEY],
    }
    if stored is not None:
        try:
            saved = load(stored)
        except CredentialsError as exc:
            result["stored"] = True
            result["error"] = exc.message
            saved = None
        if saved is not None:
            result.update(stored=True, stored_key_hint=key_hint(saved.access_key), stored_private=is_private(stored))
    try:
        found = resolve_credentials(environ, home, stored)
    except CredentialsError as exc:
        result["error"] = exc.message
    else:
        result.update(configured=True, source=found.source, key_hint=found.hint,
                      session_token=bool(found.session_token))
        result["shadowed"] = bool(result["stored"] and found.source != SOURCE_SETTINGS)
    for name in ("source", "error"):
        if result[name]:
            result[name] = without_paths(result[name], stored, home)
    return result
