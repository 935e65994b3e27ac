"""httpx logs every request at INFO ("HTTP Request: POST https://... "HTTP/1.1 200 OK""), which fills ComfyUI's console
with one line per call. This filter drops those lines for the hosts this pack calls, and only those (another pack's
httpx lines stay as they were). Set VOLC_HTTP_LOG=1 to see them again."""
from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

ENV_HTTP_LOG = "VOLC_HTTP_LOG"


class _OurRequests(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.hosts: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or os.environ.get(ENV_HTTP_LOG, "").strip() not in ("", "0"):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        url = str(args[1]) if len(args) > 1 else ""  # httpx: "HTTP Request: %s %s "%s %d %s"" (method, url, ...)
        return urlsplit(url).hostname not in self.hosts


_FILTER = _OurRequests()


def quiet(url: str) -> None:
    """Hide httpx's per-request INFO lines for this URL's host."""
    host = urlsplit(url).hostname
    if host and host not in _FILTER.hosts:
        _FILTER.hosts.add(host)
        logger = logging.getLogger("httpx")
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
