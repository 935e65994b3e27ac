"""Shared helpers and fixtures of the fault-injection tests (test_faults*.py import them with *)."""
from __future__ import annotations

import asyncio
import json
import re
import time

import numpy as np
import pytest
import torch
import volc_pack
from volc_pack.utils.api.client import ClientConfig

ERASE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
SUBJECT = volc_pack.NODE_CLASS_MAPPINGS["VolcengineSubjectMask"]
DEFAULTS = {name: spec[1]["default"] for name, spec in ERASE.INPUT_TYPES()["required"].items()
            if len(spec) > 1 and "default" in spec[1]}
FAST = ClientConfig(backoff_base=0.01, backoff_cap=0.05, read_timeout=10.0)


# --- helpers -----------------------------------------------------------------------------------------------------

def photo(height: int = 96, width: int = 96, batch: int = 1, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / width, yy / height, 0.5 + 0.3 * np.sin(xx / 5.0)], -1)
    images = np.clip(base[None] + rng.normal(0, 0.04, (batch, height, width, 3)), 0, 1).astype(np.float32)
    return torch.from_numpy(images)


def box_mask(height: int, width: int, y0: int, y1: int, x0: int, x1: int, batch: int = 1) -> torch.Tensor:
    mask = torch.zeros((batch, height, width))
    mask[:, y0:y1, x0:x1] = 1.0
    return mask


IMAGE, MASK = photo(), box_mask(96, 96, 30, 60, 30, 60)
PAIR = photo(batch=2, seed=1)
PAIR_MASKS = torch.cat([box_mask(96, 96, 10, 30, 10, 30), box_mask(96, 96, 55, 85, 55, 85)])


def erase(image=IMAGE, mask=MASK, **overrides):
    """Run the erase node; returns (images, paste_mask, parsed report, seconds)."""
    started = time.monotonic()
    images, paste_mask, report = asyncio.run(ERASE().erase(image, mask, **{**DEFAULTS, **overrides}))
    return images, paste_mask, json.loads(report), time.monotonic() - started


def erase_fails(expected: type, image=IMAGE, mask=MASK, **overrides):
    """Run the erase node expecting `expected`; returns (exception, seconds)."""
    started = time.monotonic()
    with pytest.raises(expected) as info:
        asyncio.run(ERASE().erase(image, mask, **{**DEFAULTS, **overrides}))
    return info.value, time.monotonic() - started


def segment(image, **overrides):
    options = {"refine_mask": "none", "grow": 0, "timeout": 30.0, **overrides}
    started = time.monotonic()
    subject, background, report = asyncio.run(SUBJECT().segment(image, **options))
    return subject, background, json.loads(report), time.monotonic() - started


def settle(standin, quiet: float = 0.15, limit: float = 2.0) -> None:
    """Wait until requests abandoned by a cancelled call have reached the stand-in: one arriving after the next
    test injected its faults would consume them."""
    deadline, last = time.monotonic() + limit, -1
    while time.monotonic() < deadline:
        count = standin.count()
        if count == last:
            return
        last = count
        time.sleep(quiet)


def inpaint_count(standin) -> int:
    return standin.count("i2i_inpainting")


def assert_clear(exc: BaseException, cls: type, code, fix: str) -> None:
    """One clear error: the right class and code, a hint (a sentence saying what to do) that matches `fix`,
    all of it in str() on one line, and no raw response bytes or JSON."""
    assert type(exc) is cls, f"{type(exc).__name__} is not {cls.__name__}: {exc}"
    assert exc.code == code
    assert exc.hint and exc.hint.rstrip().endswith(".") and re.search(fix, exc.hint), exc.hint
    text = str(exc)
    assert exc.hint in text and exc.message in text
    if code is not None:
        assert f"code {code}" in text
    assert "\n" not in text and "Traceback" not in text and "b'" not in text and "{" not in text


def only_variant(report: list[dict], index: int = 0) -> dict:
    (variant,) = report[index]["variants"]
    return variant
