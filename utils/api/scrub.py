"""Server-supplied text on its way to errors, reports and logs: our key material removed, made one tidy line.

A hostile or buggy server may echo the access key, secret key or session token in any field (Message, Code,
RequestId, request_id, status messages, URLs, plain-text bodies), whole or cut, so every such string passes here.
"""
from __future__ import annotations

from typing import Any

from .credentials import Credentials

FRAGMENT = 8          # any run of this many characters taken from a secret is masked, wherever it starts
SCAN_CHARS = 4096     # longer server text is cut before scanning: nobody reads past the first sentence


class Scrubber:
    def __init__(self, credentials: Credentials | None) -> None:
        cred = credentials
        self._whole: list[tuple[str, str]] = []
        if cred is not None:
            pairs = [(cred.access_key, cred.hint), (cred.secret_key, "…"), (cred.session_token or "", "…")]
            self._whole = sorted(((s, r) for s, r in pairs if s), key=lambda p: -len(p[0]))
        self._grams = {secret[i:i + FRAGMENT] for secret, _ in self._whole
                       for i in range(len(secret) - FRAGMENT + 1)}

    def __call__(self, value: Any, limit: int = 200) -> str:
        """`value` as safe text: secrets masked, control characters and whitespace runs collapsed, at most
        `limit` characters. Non-text values (a number as Code, an object as Message) are named, not dumped."""
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return f"({describe(value)})"
        text = self.clean(str(value)[:SCAN_CHARS])
        text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
        return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"

    def clean(self, text: str) -> str:
        """`text` with every secret and every FRAGMENT-long piece of one masked; nothing else changed."""
        for secret, replacement in self._whole:
            text = text.replace(secret, replacement)
        if not self._grams or len(text) < FRAGMENT:
            return text
        hit = bytearray(len(text))
        for i in range(len(text) - FRAGMENT + 1):
            if text[i:i + FRAGMENT] in self._grams:
                hit[i:i + FRAGMENT] = b"\x01" * FRAGMENT
        if not any(hit):
            return text
        out, masking = [], False
        for char, flag in zip(text, hit, strict=True):
            if flag and not masking:
                out.append("…")
            elif not flag:
                out.append(char)
            masking = bool(flag)
        return "".join(out)


def describe(value: Any) -> str:
    """A JSON value's kind in plain words, for sentences such as "image_urls is a number"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
