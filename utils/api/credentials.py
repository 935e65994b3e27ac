"""Where the access key pair comes from. Never from the node graph: widget values end up in PNG metadata,
/history and shared workflows. The chain, first match wins:

1. environment: VOLC_ACCESSKEY, VOLC_SECRETKEY, optional VOLC_SESSION_TOKEN
2. the file stored by the pack's ComfyUI settings panel (ComfyUI user directory), when the caller passes its path
3. ~/.volc/credentials (ini, [default] access_key_id / secret_access_key / session_token)
4. ~/.volc/config (JSON {"ak": ..., "sk": ...})
"""
from __future__ import annotations

import configparser
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CredentialsError

ENV_ACCESS_KEY = "VOLC_ACCESSKEY"
ENV_SECRET_KEY = "VOLC_SECRETKEY"
ENV_SESSION_TOKEN = "VOLC_SESSION_TOKEN"


def key_hint(access_key: str) -> str:
    """At most the last 4 characters: enough to tell keys apart, useless to an attacker."""
    return "…" + access_key[-4:] if len(access_key) > 8 else "…"


@dataclass(frozen=True)
class Credentials:
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    source: str = ""

    @property
    def hint(self) -> str:
        return key_hint(self.access_key)

    def __repr__(self) -> str:
        token = ", session token" if self.session_token else ""
        return f"Credentials(access key {self.hint}{token}, from {self.source})"

    __str__ = __repr__


def _from_env(environ: Mapping[str, str]) -> Credentials | None:
    ak, sk = environ.get(ENV_ACCESS_KEY, "").strip(), environ.get(ENV_SECRET_KEY, "").strip()
    if not ak and not sk:
        return None
    if not (ak and sk):
        missing = ENV_SECRET_KEY if ak else ENV_ACCESS_KEY
        raise CredentialsError(f"Only half of the key pair is in the environment: {missing} is not set.",
                               hint=f"Set both {ENV_ACCESS_KEY} and {ENV_SECRET_KEY}, or neither.")
    return Credentials(ak, sk, environ.get(ENV_SESSION_TOKEN, "").strip() or None, "environment")


def read_json(path: Path, hint: str) -> object | None:
    """A JSON file's content, None when it does not exist; never echoes the content (it holds secrets)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"{path} could not be read as JSON ({type(exc).__name__}).", hint=hint) from None


def refuse_linked_folder(stored: Path) -> Path:
    """The settings file's path, unless its folder is a symbolic link: a link could send the secret into a folder
    ComfyUI serves (a user's /userdata folder) or one others can read, so the pair is neither read nor written
    through it."""
    if stored.parent.is_symlink():
        raise CredentialsError("The Settings > Volcengine folder (volcengine/ in ComfyUI's user directory) is a "
                               "symbolic link; the key pair is neither read nor written through it.",
                               hint="Replace the link with a real folder, then save the key pair again.")
    return stored


def _from_json(path: Path, source: str, ak_key: str, sk_key: str) -> Credentials | None:
    data = read_json(path, "Fix or delete that file.")
    if data is None:
        return None
    if not isinstance(data, dict) or not data.get(ak_key) or not data.get(sk_key):
        raise CredentialsError(f"{path} lacks '{ak_key}' or '{sk_key}'.", hint="Fix or delete that file.")
    token = data.get("session_token") or None
    return Credentials(str(data[ak_key]).strip(), str(data[sk_key]).strip(), token, source)


def _from_ini(path: Path) -> Credentials | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error) as exc:
        raise CredentialsError(f"{path} could not be read ({type(exc).__name__}).",
                               hint="Fix or delete that file.") from None
    section = parser["default"] if parser.has_section("default") else {}
    ak, sk = section.get("access_key_id", "").strip(), section.get("secret_access_key", "").strip()
    if not (ak and sk):
        raise CredentialsError(f"{path} has no [default] access_key_id and secret_access_key.",
                               hint="Fix or delete that file.")
    return Credentials(ak, sk, section.get("session_token", "").strip() or None, str(path))


def resolve_credentials(environ: Mapping[str, str] | None = None, home: Path | None = None,
                        stored: Path | None = None) -> Credentials:
    """The first complete key pair along the chain; CredentialsError saying where it looked otherwise.
    `stored`: the Settings > Volcengine file (inside ComfyUI); None leaves that place out."""
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    volc = home / ".volc"
    lookups = [lambda: _from_env(environ)]
    if stored is not None:
        lookups.append(lambda: _from_json(refuse_linked_folder(stored), "ComfyUI settings", "access_key",
                                          "secret_key"))
    lookups += [lambda: _from_ini(volc / "credentials"), lambda: _from_json(volc / "config", str(volc / "config"),
                                                                            "ak", "sk")]
    for lookup in lookups:
        found = lookup()
        if found is not None:
            return found
    places = [f"environment ({ENV_ACCESS_KEY}/{ENV_SECRET_KEY})"]
    if stored is not None:
        places.append("the Volcengine section of ComfyUI's settings")
    places += [str(volc / "credentials"), str(volc / "config")]
    raise CredentialsError(
        "No Volcengine credentials found. Looked in: " + "; ".join(places) + ".",
        hint=f"Set {ENV_ACCESS_KEY} and {ENV_SECRET_KEY} in the environment that starts ComfyUI "
             "(or enter them in Settings > Volcengine), then run again. Never type keys into a node widget.")
