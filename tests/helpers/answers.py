"""Shared by the tests of answers off the happy path (client level and end to end): what each malformed shape is
called in the error sentence, and a loopback server that must never be asked for anything."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# malformed shape -> words of the one ServiceError sentence it must produce
MALFORMED = {
    "base64_number": "binary_data_base64 is a number, not a list",
    "base64_object": "binary_data_base64 is an object",
    "base64_numbers": "binary_data_base64 holds a number",
    "urls_number": "image_urls is a number",
    "data_null": "its data is null",
    "no_image": "without an image",
    "not_image": "not a JPEG or PNG",
    "algorithm_failed": "algorithm reported status 100202",
    "json_list": "is a list, not a JSON object",
    "code_missing": "no result code",
    "bomb": "more than 67,108,864 pixels",
    "oversized": "exceeds 64 MB",
}


class Witness:
    """A loopback server that must never be asked for anything."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
