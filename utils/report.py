"""The node report as compact, readable JSON: one line per image, and one line per variant under it.

json.dumps(indent=1) spread one four-variant image over ~60 lines; this keeps each variant's seed, request id, time
and status on one line a person can scan, and the text is still plain JSON (json.loads gives the same list back)."""
from __future__ import annotations

import json
from typing import Any


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def format_report(items: list[dict[str, Any]]) -> str:
    lines = []
    for n, item in enumerate(items):
        comma = "," if n < len(items) - 1 else ""
        variants = item.get("variants")
        if not isinstance(variants, list) or not variants:
            lines.append(f" {_line(item)}{comma}")
            continue
        rest = {k: v for k, v in item.items() if k != "variants"}
        lines.append(f' {_line(rest)[:-1]}{", " if rest else ""}"variants": [')
        lines += [f"  {_line(v)}{',' if k < len(variants) - 1 else ''}" for k, v in enumerate(variants)]
        lines.append(f" ]}}{comma}")
    return "[\n" + "\n".join(lines) + "\n]" if lines else "[]"
