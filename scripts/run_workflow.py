"""Run an API-format workflow on a ComfyUI server and download its outputs.

    python scripts/run_workflow.py WORKFLOW_API_JSON [--server http://127.0.0.1:8188]
        [--image NODE_ID=PATH ...] [--set NODE_ID.INPUT=VALUE ...] --out DIR [--timeout S] [--previews]
        [--images DIR [--image-node NODE_ID] [--concurrency N] [--overwrite]]

Uploads the images the workflow's Load Image nodes use (--image, or by default the file of that name found in
workflows/inputs/), queues the workflow (POST /prompt), follows it (GET /history/<id> every 0.5 s), and downloads
the saved images (GET /view) into DIR; --previews also fetches Preview Image results. Text results (Preview Any,
e.g. the eraser's report) are written as DIR/text_<node>.txt. A rejected workflow or a failed node is printed as
readable lines and exits 1; Ctrl-C (or SIGTERM) cancels the run on the server (POST /interrupt) and exits 130.
The script needs no credentials: the nodes read theirs inside the ComfyUI process. --images DIR runs the workflow
once per image of DIR instead (see scripts/workflow_batch.py): outputs go to OUT/<image name>/, at most N
prompts queued at once, images whose folder exists are skipped.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workflow_batch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOAD_NODES = ("LoadImage", "LoadImageMask")
POLL_SECONDS = 0.5


class RunError(Exception):
    """Ends the run with exit code 1; each entry of `lines` is printed on its own line."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0])
        self.lines = lines


# --- the workflow ------------------------------------------------------------------------------------------------

def load_workflow(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"error: cannot read {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        raise RunError(f"error: {path} is a UI-format workflow (what the editor saves); POST /prompt needs the API "
                       "format: use workflows/api/<name>.json, or the editor's Export (API).")
    if not isinstance(data, dict) or not all(isinstance(n, dict) and "class_type" in n for n in data.values()):
        raise RunError(f"error: {path} is not an API-format workflow ({{node_id: {{class_type, inputs}}}}).")
    return data


def parse_value(text: str, current: Any) -> Any:
    """JSON when it parses (numbers, true/false), else the text; a text input stays text ('007' is not 7)."""
    if isinstance(current, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def apply_sets(prompt: dict[str, Any], sets: list[str]) -> None:
    for item in sets:
        target, sep, text = item.partition("=")
        node_id, dot, name = target.rpartition(".")
        if not sep or not dot:
            raise RunError(f"error: --set {item!r}: expected NODE_ID.INPUT=VALUE")
        inputs = node_inputs(prompt, node_id, "--set")
        if isinstance(inputs.get(name), list):
            raise RunError(f"error: --set {item!r}: input {name} of node {node_id} is connected to another node")
        inputs[name] = parse_value(text, inputs.get(name))


def node_inputs(prompt: dict[str, Any], node_id: str, option: str) -> dict[str, Any]:
    if node_id not in prompt:
        raise RunError(f"error: {option}: the workflow has no node {node_id!r} (nodes: {', '.join(prompt)})")
    return prompt[node_id].setdefault("inputs", {})


def local_inputs(workflow_path: Path) -> list[Path]:
    """Where a bundled workflow's example images live: workflows/inputs/ next to workflows/api/."""
    here = workflow_path.resolve().parent
    return [here / "inputs", here.parent / "inputs", ROOT / "workflows" / "inputs"]


def planned_uploads(prompt: dict[str, Any], images: list[str], workflow_path: Path) -> dict[str, Path]:
    """node id -> local file to upload: --image first, else the workflow's file name found in workflows/inputs/."""
    plan: dict[str, Path] = {}
    for item in images:
        node_id, sep, path = item.partition("=")
        if not sep:
            raise RunError(f"error: --image {item!r}: expected NODE_ID=PATH")
        node_inputs(prompt, node_id, "--image")
        if not Path(path).is_file():
            raise RunError(f"error: --image {item!r}: {path} does not exist")
        plan[node_id] = Path(path)
    for node_id, node in prompt.items():
        name = node.get("inputs", {}).get("image")
        if node_id in plan or node["class_type"] not in LOAD_NODES or not isinstance(name, str):
            continue
        candidates = (folder / Path(name).name for folder in local_inputs(workflow_path))
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            print(f"note: node {node_id} uses {name!r} from the server's input folder (no local copy to upload)")
        else:
            plan[node_id] = found
    return plan


# --- the server --------------------------------------------------------------------------------------------------

class Comfy:
    def __init__(self, server: str, timeout: float = 60.0) -> None:
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, timeout=httpx.Timeout(timeout, connect=10.0))

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RunError(f"error: {method} {self.server}{path} failed: {type(exc).__name__}: {exc}") from None

    def upload(self, path: Path) -> str:
        with path.open("rb") as handle:
            answer = self._call("POST", "/upload/image", data={"overwrite": "true", "type": "input"},
                                files={"image": (path.name, handle, "application/octet-stream")})
        if answer.status_code != 200:
            raise RunError(f"error: uploading {path} failed: HTTP {answer.status_code} {answer.text[:200]}")
        body = answer.json()
        return f"{body['subfolder']}/{body['name']}" if body.get("subfolder") else body["name"]

    def queue(self, prompt: dict[str, Any], client_id: str) -> str:
        answer = self._call("POST", "/prompt", json={"prompt": prompt, "client_id": client_id})
        if answer.status_code == 400:
            raise RunError(*rejection_lines(answer.json(), prompt))
        if answer.status_code != 200:
            raise RunError(f"error: POST /prompt answered HTTP {answer.status_code}: {answer.text[:300]}")
        return answer.json()["prompt_id"]

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """Its history entry, which ComfyUI writes only once the prompt has finished (or failed)."""
        answer = self._call("GET", f"/history/{prompt_id}")
        return answer.json().get(prompt_id) if answer.status_code == 200 else None

    def cancel(self, prompt_id: str) -> None:
        """Drop it from the queue if it is still waiting, and stop it if it is running (only this prompt)."""
        self._call("POST", "/queue", json={"delete": [prompt_id]})
        self._call("POST", "/interrupt", json={"prompt_id": prompt_id})

    def view(self, item: dict[str, Any]) -> bytes:
        params = {"filename": item["filename"], "subfolder": item.get("subfolder", ""), "type": item.get("type")}
        answer = self._call("GET", "/view", params=params)
        if answer.status_code != 200:
            raise RunError(f"error: downloading {item['filename']} failed: HTTP {answer.status_code}")
        return answer.content


def one_line(text: Any) -> str:
    return " ".join(str(text).split())


def rejection_lines(body: dict[str, Any], prompt: dict[str, Any]) -> list[str]:
    """HTTP 400 from /prompt: the overall error, then one line per node error."""
    error = body.get("error") or {}
    error = error if isinstance(error, dict) else {"message": error}
    head = one_line(error.get("message") or "the workflow was rejected")
    details = one_line(error.get("details") or "")
    lines = [f"error: prompt rejected: {head}" + (f": {details}" if details and details != head else "")]
    for node_id, info in (body.get("node_errors") or {}).items():
        kind = info.get("class_type") or prompt.get(node_id, {}).get("class_type", "?")
        for item in info.get("errors", []):
            message, extra = one_line(item.get("message", "")), one_line(item.get("details", ""))
            lines.append(f"  node {node_id} ({kind}): {message}" + (f": {extra}" if extra else ""))
    return lines


def failure_lines(entry: dict[str, Any]) -> list[str]:
    """A finished prompt's execution_error / execution_interrupted, without current_inputs (it echoes inputs)."""
    for event, data in (entry.get("status") or {}).get("messages", []):
        if event == "execution_error":
            kind = str(data.get("exception_type", "Exception")).rsplit(".", 1)[-1]
            # The pack's errors: one sentence first (what is wrong: what to do), the service's words and ids after.
            first, *rest = str(data.get("exception_message", "")).strip().split("\n")
            return [f"error: node {data.get('node_id')} ({data.get('node_type')}) failed: {kind}: {one_line(first)}",
                    *(f"       {one_line(line)}" for line in rest if line.strip())]
        if event == "execution_interrupted":
            return [f"error: interrupted at node {data.get('node_id')} ({data.get('node_type')})"]
    return ["error: the run failed without an error message (see the ComfyUI console)"]


def follow(comfy: Comfy, prompt_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (entry := comfy.history(prompt_id)) is None:
        if time.monotonic() > deadline:
            comfy.cancel(prompt_id)
            raise RunError(f"error: no result after {timeout:g} s; cancelled prompt {prompt_id} on the server")
        time.sleep(POLL_SECONDS)
    return entry


def save_outputs(comfy: Comfy, entry: dict[str, Any], out: Path, previews: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for node_id, result in (entry.get("outputs") or {}).items():
        for item in result.get("images", []):
            if item.get("type") == "output" or (previews and item.get("type") == "temp"):
                target = out / Path(item["filename"]).name  # never a path from the server
                target.write_bytes(comfy.view(item))
                written.append(target)
        texts = [t for t in result.get("text", []) if isinstance(t, str)]
        if texts:
            target = out / f"text_{node_id}.txt"
            target.write_text("\n".join(texts) + "\n", encoding="utf-8")
            written.append(target)
    return written


# --- main ----------------------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workflow", type=Path, help="API-format workflow JSON (e.g. workflows/api/erase_subject.json)")
    p.add_argument("--server", default="http://127.0.0.1:8188", help="ComfyUI address (default %(default)s)")
    p.add_argument("--image", action="append", default=[], metavar="NODE_ID=PATH",
                   help="upload PATH for that Load Image node (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="NODE_ID.INPUT=VALUE",
                   help="override a widget value, e.g. 2.seed=7 or 2.quality=H (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="folder for the downloaded results")
    p.add_argument("--timeout", type=float, default=900.0, help="overall seconds to wait (default %(default)s)")
    p.add_argument("--previews", action="store_true", help="also download Preview Image results")
    p.add_argument("--images", type=Path, metavar="DIR",
                   help="run the workflow once per PNG/JPEG/WebP image of DIR; outputs in OUT/<image name>/")
    p.add_argument("--image-node", metavar="NODE_ID", help="the Load Image node that gets each image (--images; "
                   "needed when the workflow has several)")
    p.add_argument("--concurrency", type=int, default=2, help="prompts queued at once with --images (default 2)")
    p.add_argument("--overwrite", action="store_true", help="with --images: redo images whose outputs exist")
    args = p.parse_args(argv)
    if args.concurrency < 1:
        p.error("--concurrency must be 1 or more")
    return args


def run(args: argparse.Namespace, comfy: Comfy, state: dict[str, Any]) -> int:
    prompt = load_workflow(args.workflow)
    apply_sets(prompt, args.set)
    per_image = workflow_batch.target_node(prompt, args.image_node, RunError) if args.images else None
    for node_id, path in planned_uploads(prompt, args.image, args.workflow).items():
        if node_id == per_image:
            continue
        prompt[node_id]["inputs"]["image"] = comfy.upload(path)
        print(f"uploaded {path} for node {node_id} as {prompt[node_id]['inputs']['image']!r}")
    if args.images:
        return workflow_batch.run_images(sys.modules[__name__], args, comfy, prompt, state)
    started = time.monotonic()
    state["prompt_id"] = comfy.queue(prompt, str(uuid.uuid4()))
    print(f"queued prompt {state['prompt_id']}", flush=True)
    entry = follow(comfy, state["prompt_id"], args.timeout)
    if (entry.get("status") or {}).get("status_str") == "error":
        raise RunError(*failure_lines(entry))
    written = save_outputs(comfy, entry, args.out, args.previews)
    for path in written:
        print(path)
    print(f"done in {time.monotonic() - started:.1f} s: {len(written)} file(s) in {args.out}")
    return 0


def stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # a killed runner (CI timeout, kill) cancels its prompt like Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    comfy = Comfy(args.server)
    state: dict[str, Any] = {}
    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
    # Explicitly, like the batch CLI: a runner started from a script's background job inherits SIGINT ignored.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = run(args, comfy, state)
    except RunError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        cancel_all(args.server, state)
        return 130  # the old client is left to the process exit: closing it could wait on a lock the interrupt held
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    comfy.http.close()
    return code


def cancel_all(server: str, state: dict[str, Any]) -> None:
    """Cancel what this run queued, with a fresh client: the interrupt may have landed inside a request of the old
    one, holding its connection pool's lock."""
    canceller = Comfy(server, timeout=10.0)
    for prompt_id in [state[k] for k in ("prompt_id",) if k in state] + list(state.get("in_flight", ())):
        try:
            canceller.cancel(prompt_id)
            print(f"\ninterrupted: sent POST /interrupt for prompt {prompt_id}", file=sys.stderr)
        except RunError as exc:
            print(f"\ninterrupted; cancelling on the server failed: {exc.lines[0]}", file=sys.stderr)
    canceller.http.close()

if __name__ == "__main__":
    sys.exit(main())
