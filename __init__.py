"""ComfyUI entry point: ComfyUI imports this folder as a package and reads the mappings below."""
import logging

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]


def _install_settings_routes() -> None:
    """Settings > Volcengine: its HTTP routes on ComfyUI's server, storing the key pair where the nodes look for it."""
    from .nodes import comfy_bridge
    from .utils.api import credential_routes

    routes, store_path = comfy_bridge.server_routes(), comfy_bridge.credentials_store_path()
    if routes is not None and store_path is not None:  # None: not inside a running ComfyUI (tests, CLI)
        credential_routes.install(routes, store_path, listen=comfy_bridge.listen_addresses())


try:
    _install_settings_routes()
except Exception as exc:  # noqa: BLE001  (the HTTP side must never stop the nodes from loading)
    logging.getLogger(__name__).warning("Volcengine: Settings > Volcengine is unavailable (%s: %s); the nodes still "
                                        "work with VOLC_ACCESSKEY / VOLC_SECRETKEY or ~/.volc.",
                                        type(exc).__name__, exc)
