"""What every node shares: tensor conversion, the timeout widget, and a client bound to ComfyUI's cancel."""
from __future__ import annotations

import torch

from . import comfy_bridge
from ..utils.client import ClientConfig, VisualClient
from ..utils.errors import InputError

TIMEOUT_MIN, TIMEOUT_MAX = 5.0, 600.0


def timeout_widget(default: float) -> tuple:
    return ("FLOAT", {"default": default, "min": TIMEOUT_MIN, "max": TIMEOUT_MAX, "step": 5.0,
                      "tooltip": "Seconds to wait for each call's answer."})


def make_client(timeout) -> VisualClient:
    """A client whose waits end when the user presses cancel in ComfyUI."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not TIMEOUT_MIN <= timeout <= TIMEOUT_MAX:
        raise InputError(f"timeout is {timeout!r}, outside {TIMEOUT_MIN:g}..{TIMEOUT_MAX:g} s.",
                         hint=f"Set timeout within {TIMEOUT_MIN:g}..{TIMEOUT_MAX:g}.")
    return VisualClient(config=ClientConfig(read_timeout=float(timeout)), cancel_check=comfy_bridge.cancel_check())


def to_numpy(tensor: torch.Tensor, name: str):
    """Tensor -> float32 numpy without copying when it already is float32 on the CPU."""
    if not isinstance(tensor, torch.Tensor):
        raise InputError(f"{name} is a {type(tensor).__name__}, not a tensor.", hint=f"Connect a {name.upper()} output.")
    return tensor.detach().to("cpu", torch.float32).numpy()
