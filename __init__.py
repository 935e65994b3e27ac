"""ComfyUI entry point: ComfyUI imports this folder as a package and reads the mappings below."""
import logging

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, comfy_bridge

WEB_DIRECTORY = "./web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]


# Server-side parts, installed only inside a running ComfyUI (prompt_server() is None in tests and the CLI).
def _install_settings_routes() -> None:
    """Settings > Volcengine: its HTTP routes on ComfyUI's server, storing the key pair where the nodes look for it."""
    from .utils.api import credential_routes

    server, store_path = comfy_bridge.prompt_server(), comfy_bridge.credentials_store_path()
    if server is not None and store_path is not None:
        credential_routes.install(server.routes, store_path, listen=comfy_bridge.listen_addresses())


def _install_prompt_check() -> None:
    """Headless prompts: a text "false" in a BOOLEAN widget becomes a validation error instead of True."""
    from .nodes.prompt_check import mark_invalid_booleans

    server = comfy_bridge.prompt_server()
    if server is not None:
        server.add_on_prompt_handler(lambda json_data: mark_invalid_booleans(json_data, NODE_CLASS_MAPPINGS))


for _install, _what in ((_install_settings_routes, "Settings > Volcengine"),
                        (_install_prompt_check, "the check of text booleans in API prompts")):
    try:
        _install()
    except Exception as exc:  # noqa: BLE001  (the server side must never stop the nodes from loading)
        logging.getLogger(__name__).warning("Volcengine: %s is unavailable (%s: %s); the nodes still work.", _what,
                                            type(exc).__name__, exc)
