"""What every node shares: tensor conversion and a client bound to ComfyUI's cancel."""
from __future__ import annotations

import torch

from . import comfy_bridge
from ..utils.api.client import ClientConfig, VisualClient
from ..utils.api.errors import InputError
from ..utils.specs import TIMEOUT, widgets
from ..utils.validate import number

TIMEOUT_MIN, TIMEOUT_MAX = TIMEOUT.min, TIMEOUT.max  # module names, so tests can shorten the wait
HIDDEN = {"unique_id": "UNIQUE_ID"}  # for the progress bar and status text


def segmentation_inputs(table, optional: dict | None = None) -> dict:
    """INPUT_TYPES of a segmentation node: the image, the node's widgets, its optional inputs."""
    types = {"required": {"image": ("IMAGE", {"tooltip": "The picture(s) to segment; each image of a batch gets its "
                                                         "own mask."}), **widgets(table)}}
    if optional:
        types["optional"] = optional
    return {**types, "hidden": dict(HIDDEN)}


def make_client(timeout) -> VisualClient:
    """A client whose waits end when the user presses cancel in ComfyUI."""
    timeout = number("timeout", timeout, TIMEOUT_MIN, TIMEOUT_MAX)
    return VisualClient(config=ClientConfig(read_timeout=float(timeout)), cancel_check=comfy_bridge.cancel_check(),
                        credentials_file=comfy_bridge.credentials_store_path())


def to_numpy(tensor: torch.Tensor, name: str):
    """Tensor -> float32 numpy without copying when it already is float32 on the CPU."""
    if not isinstance(tensor, torch.Tensor):
        raise InputError(f"{name} is a {type(tensor).__name__}, not a tensor.",
                         hint=f"Connect a {name.upper()} output.")
    if not (tensor.is_floating_point() or tensor.dtype == torch.bool) and (tensor.min() < 0 or tensor.max() > 1):
        # An integer tensor beyond 0/1 is most likely 0..255 pixels; reading it as 0..1 would send a white picture.
        raise InputError(f"{name} is a {tensor.dtype} tensor; ComfyUI's {name.upper()} is float in 0..1.",
                         hint=f"Convert it to float and divide by 255 before connecting it as {name}.")
    return tensor.detach().to("cpu", torch.float32).numpy()
