"""Just enough of ComfyUI's HTTP API (upload, queue, history, view) on loopback, for scripts/run_workflow.py."""
from __future__ import annotations

import email.parser
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()  # what /view serves: a real picture, so checks can open what the runner saved


class FakeComfy:
    """Scenario knobs: `reject` (a 400 body), `failure` (history messages), `history` (the whole history entry, as
    ComfyUI would store it), `polls` (empty answers before the entry), `never` (the prompt never finishes).
    Everything received is recorded: `raw` holds each request's path and body.
    `numbered` (several prompts, as --images queues them): each prompt gets its own id (p-1, p-2, ...), its own
    polls and its own output file; prompts whose Load Image file is in `failing` fail; `max_open` is the most
    prompts queued and not yet finished at once."""

    def __init__(self, history: dict | None = None, polls: int = 2) -> None:
        self.url = ""
        self.history = history
        self.reject: dict | None = None
        self.failure: list | None = None
        self.polls, self.never = polls, False
        self.uploads: list[dict] = []
        self.prompts: list[dict] = []
        self.posts: list[tuple[str, dict]] = []
        self.raw: list[bytes] = []
        self.history_calls = 0
        self.views: list[dict] = []
        self.numbered, self.failing = False, set()
        self.images: dict[str, str] = {}  # prompt id -> its Load Image file
        self.polled: dict[str, int] = {}
        self.open: set[str] = set()
        self.max_open = 0

    def queued(self, prompt: dict) -> str:
        if not self.numbered:
            return "p-1"
        prompt_id = f"p-{len(self.prompts)}"
        self.images[prompt_id] = next(n["inputs"]["image"] for n in prompt.values() if n["class_type"] == "LoadImage")
        self.open.add(prompt_id)
        self.max_open = max(self.max_open, len(self.open))
        return prompt_id

    def finished(self, prompt_id: str) -> bool:
        if not self.numbered:
            return not self.never and self.history_calls > self.polls
        self.polled[prompt_id] = self.polled.get(prompt_id, 0) + 1
        if self.never or self.polled[prompt_id] <= self.polls:
            return False
        self.open.discard(prompt_id)
        return True

    def entry(self, prompt_id: str) -> dict:
        if self.history is not None:
            return self.history
        if self.numbered:
            if self.images.get(prompt_id) in self.failing:
                return {"prompt": [], "outputs": {}, "status": {"status_str": "error", "completed": False, "messages": [
                    ["execution_error", {"node_id": "2", "node_type": "VolcengineInpaintErase",
                                         "exception_type": "ServiceError", "exception_message": "it broke"}]]}}
            image = {"filename": f"erased_{prompt_id}_.png", "subfolder": "", "type": "output"}
            return {"prompt": [], "outputs": {"4": {"images": [image]}},
                    "status": {"status_str": "success", "completed": True, "messages": []}}
        if self.failure is not None:
            return {"prompt": [], "outputs": {}, "status": {"status_str": "error", "completed": False,
                                                             "messages": self.failure}}
        outputs = {"4": {"images": [{"filename": "painted_00001_.png", "subfolder": "volc_erase", "type": "output"}]},
                   "3": {"images": [{"filename": "ComfyUI_temp_abc_00001_.png", "subfolder": "", "type": "temp"}]},
                   "5": {"text": ['[{"index": 0, "status": "ok"}]']}}
        return {"prompt": [], "outputs": outputs, "status": {"status_str": "success", "completed": True,
                                                             "messages": [["execution_start", {}]]}}


def handler_for(fake: FakeComfy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def reply(self, status: int, body: object, kind: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fake.raw.append(self.path.encode() + body)
            if self.path == "/upload/image":
                return self.upload(body)
            data = json.loads(body or b"{}")
            if self.path == "/prompt":
                fake.prompts.append(data)
                if fake.reject is not None:
                    return self.reply(400, fake.reject)
                return self.reply(200, {"prompt_id": fake.queued(data["prompt"]), "number": 1, "node_errors": {}})
            fake.posts.append((self.path, data))
            self.reply(200, b"", "text/plain")

        def upload(self, body: bytes) -> None:
            head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
            parts = {p.get_param("name", header="content-disposition"): p
                     for p in email.parser.BytesParser().parsebytes(head + body).get_payload()}
            image = parts["image"]
            fake.uploads.append({"filename": image.get_filename(), "data": image.get_payload(decode=True),
                                 "overwrite": parts["overwrite"].get_payload(), "type": parts["type"].get_payload()})
            self.reply(200, {"name": f"up_{image.get_filename()}", "subfolder": "", "type": "input"})

        def do_GET(self) -> None:
            fake.raw.append(self.path.encode())
            url = urlsplit(self.path)
            if url.path.startswith("/history/"):
                fake.history_calls += 1
                prompt_id = url.path.rsplit("/", 1)[1]
                done = fake.finished(prompt_id)
                return self.reply(200, {prompt_id: fake.entry(prompt_id)} if done else {})
            if url.path == "/view":
                fake.views.append({k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()})
                return self.reply(200, PNG, "image/png")
            self.reply(404, {"error": "not found"})

    return Handler


@contextmanager
def serving(fake: FakeComfy) -> Iterator[FakeComfy]:
    """`fake` on a free loopback port (fake.url) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
