"""The status lines shown on the nodes while they run. The English templates live in locales/en/main.json
(volcengine.status), the same file the front end reads: web/volcengine_i18n.js recognises the English line and shows
it in the user's language (locales/<lang>/main.json), so Python and the browser cannot drift apart."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).resolve().parent.parent / "locales"


@cache
def templates() -> dict[str, str]:
    return json.loads((LOCALES / "en" / "main.json").read_text(encoding="utf-8"))["volcengine"]["status"]


def status(key: str, **values: object) -> str:
    return templates()[key].format(**values)


def numbers(indexes: list[int]) -> str:
    """Zero-based image indexes as the user counts them: "1, 3"."""
    return ", ".join(str(i + 1) for i in indexes)


def progress(done: int, total: int) -> str:
    if done == 0:
        return status("sendingOne") if total == 1 else status("sending", calls=total)
    return status("progress", done=done, total=total)


def skipped(skipped: list[int], batch: int, done: int, total: int) -> str:
    """The final line when images came back unchanged because nothing was painted on them."""
    if len(skipped) == batch:
        return status("nothingPainted")
    return status("nothingPaintedOn", done=done, total=total, images=numbers(skipped))
