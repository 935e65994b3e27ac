"""The few ComfyUI services the nodes use, imported lazily so the nodes load and run without ComfyUI
(tests, CLI, benchmarks); without ComfyUI each helper is a no-op."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ..utils.api.credential_store import default_store_path

log = logging.getLogger(__name__)


def credentials_store_path() -> Path | None:
    """Where Settings > Volcengine keeps the key pair (`<ComfyUI user dir>/volcengine/credentials.json`); None
    outside ComfyUI. The nodes and the settings routes both ask here, so they read and write the same file."""
    try:
        import folder_paths
    except ImportError:
        return None
    user_directory = getattr(folder_paths, "get_user_directory", None)
    return default_store_path(user_directory()) if user_directory is not None else None


def listen_addresses() -> str | None:
    """ComfyUI's --listen value (comma-separated addresses), None when it cannot be read."""
    try:
        from comfy.cli_args import args
    except ImportError:
        return None
    listen = getattr(args, "listen", None)
    return listen if isinstance(listen, str) else None


def prompt_server():
    """ComfyUI's running PromptServer (its `routes` table, its on-prompt hooks), None outside ComfyUI."""
    try:
        from server import PromptServer
    except ImportError:
        return None
    return getattr(PromptServer, "instance", None)


def cancel_check() -> Callable[[], None] | None:
    """ComfyUI's interrupt test: raises InterruptProcessingException once the user pressed cancel."""
    try:
        import comfy.model_management as mm
    except ImportError:
        return None
    return mm.throw_exception_if_processing_interrupted


def progress(node_id: str | None) -> Callable[[int, int], None]:
    """A callback(done, total) that moves the node's progress bar and shows a short status text."""
    try:
        import comfy.utils
        from server import PromptServer
    except ImportError:
        return lambda done, total: None
    bar = comfy.utils.ProgressBar(1, node_id=node_id)

    def update(done: int, total: int) -> None:
        bar.update_absolute(done, total)  # its hook also raises if the user pressed cancel
        status_text(f"{done}/{total} results ready", node_id, PromptServer)

    return update


def status_text(text: str, node_id: str | None, server_cls=None) -> None:
    if node_id is None:
        return
    try:
        if server_cls is None:
            from server import PromptServer as server_cls
        server_cls.instance.send_progress_text(text, node_id)
    except Exception:  # a status line must never fail the node
        log.debug("progress text not sent", exc_info=True)
