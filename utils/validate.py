"""Checks for widget values. Headless clients (POST /prompt, the CLI) skip the UI's clamping and may send any JSON
value, so each value is checked by name and a bad one becomes an InputError that says how to fix it."""
from __future__ import annotations

import math
from collections.abc import Sequence

from .api.errors import InputError


def number(name: str, value: object, low: float, high: float, *, whole: bool = False) -> float | int:
    """`value` as a number within low..high; whole numbers only when `whole` (7.0 is accepted as 7)."""
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name} is {value!r}, not {kind}.", hint=f"Set {name} to {kind} within {low:g}..{high:g}.")
    if whole:
        if value != int(value):
            raise InputError(f"{name} is {value!r}, not a whole number.", hint=f"Set {name} to a whole number.")
        value = int(value)
    if not low <= value <= high:
        raise InputError(f"{name} is {value!r}, outside {low:g}..{high:g}.",
                         hint=f"Set {name} within {low:g}..{high:g}.")
    return value


def flag(name: str, value: object) -> bool:
    """A BOOLEAN widget's value: true/false, or 0/1 as some clients send them. Text ("false", "yes"), other numbers
    and null are refused: bool() would read "false" and 2 as true."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InputError(f"{name} is {value!r}, not true or false.",
                     hint=f"Send {name} as a JSON boolean, true or false (0 and 1 are accepted too).")


def choice(name: str, value: object, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{name} is {value!r}.", hint=f"Use one of: {', '.join(allowed)}.")
    return value


def text(name: str, value: object, *, limit: int = 1000) -> str:
    """None counts as empty; anything else must be a string of at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InputError(f"{name} must be text of at most {limit} characters.", hint=f"Set {name} to plain text.")
    return value
