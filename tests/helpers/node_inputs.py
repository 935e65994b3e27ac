"""Inputs for the node tests: small photos and box masks as ComfyUI tensors, node calls with the widget defaults,
and the check that a bad input became an InputError naming it, before any request."""
from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
import torch
import volc_pack
from volc_pack.utils.api.errors import InputError

ERASE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
SUBJECT = volc_pack.NODE_CLASS_MAPPINGS["VolcengineSubjectMask"]
LOGO = volc_pack.NODE_CLASS_MAPPINGS["VolcengineLogoInfo"]
DEFAULTS = {name: spec[1]["default"] for name, spec in ERASE.INPUT_TYPES()["required"].items()
            if len(spec) > 1 and "default" in spec[1]}
NAN, INF = float("nan"), float("inf")


# --- inputs ------------------------------------------------------------------------------------------------------

def photo(height: int = 64, width: int = 64, batch: int = 1, channels: int = 3, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / max(width, 1), yy / max(height, 1), 0.5 + 0.3 * np.sin(xx / 5.0)], -1)
    rgb = np.clip(base[None] + rng.normal(0, 0.04, (batch, height, width, 3)), 0, 1).astype(np.float32)
    if channels == 1:
        return torch.from_numpy(rgb.mean(-1, keepdims=True))
    extra = [rng.random((batch, height, width, 1), dtype=np.float32) for _ in range(max(0, channels - 3))]
    return torch.from_numpy(np.concatenate([rgb[..., :channels], *extra], -1))


def box(height: int = 64, width: int = 64, y0: int = 20, y1: int = 40, x0: int = 20, x1: int = 40,
        batch: int = 1, value: float = 1.0, background: float = 0.0) -> torch.Tensor:
    mask = torch.full((batch, height, width), background)
    mask[:, y0:y1, x0:x1] = value
    return mask


def erase(image, mask, **overrides):
    return asyncio.run(ERASE().erase(image, mask, **{**DEFAULTS, **overrides}))


def segment(image, **overrides):
    return asyncio.run(SUBJECT().segment(image, **{"refine_mask": "none", "grow": 0, "timeout": 30.0, **overrides}))


def assert_input_error(exc: BaseException, names: str) -> None:
    """An InputError (not any ValueError) whose message names the input and whose hint says what to do."""
    assert type(exc) is InputError, f"{type(exc).__name__}: {exc}"
    assert re.search(names, exc.message), f"{names!r} not named in {exc.message!r}"
    assert exc.hint and len(exc.hint.split()) >= 3, f"no usable hint in {exc!r}"
    assert exc.hint in str(exc) and "\n" not in str(exc)


def expect_input_error(call, names: str, standin) -> InputError:
    with pytest.raises(Exception) as info:
        call()
    assert_input_error(info.value, names)
    assert standin.count() == 0, "no request may be sent for invalid input"
    return info.value


def inpaint_requests(standin):
    return [r for r in standin.requests if r.req_key == "i2i_inpainting"]
