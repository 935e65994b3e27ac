"""run_workflow.py --images DIR: the API workflow once per image of a folder, on a ComfyUI server.

Each image is uploaded (POST /upload/image) into the workflow's Load Image node and queued; at most --concurrency
prompts are queued at once, so a big folder never floods the server's queue. Each prompt's outputs are saved as soon
as it finishes, into OUT/<image name>/ (downloaded into a temporary folder, then renamed, so a folder with the final
name is always complete); an image whose folder exists is skipped, so a re-run does only the rest.
"""
from __future__ import annotations

import copy
import os
import shutil
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from batch_files import PlanError, find_images

LOAD_IMAGE = "LoadImage"


def target_node(prompt: dict[str, Any], chosen: str | None, run_error) -> str:
    """The Load Image node that gets each image: --image-node, else the workflow's only one."""
    if chosen is not None:
        if prompt.get(chosen, {}).get("class_type") != LOAD_IMAGE:
            raise run_error(f"error: --image-node {chosen}: not a {LOAD_IMAGE} node of this workflow")
        return chosen
    loads = [node_id for node_id, node in prompt.items() if node["class_type"] == LOAD_IMAGE]
    if len(loads) != 1:
        raise run_error(f"error: --images needs --image-node NODE_ID: the workflow has {len(loads)} {LOAD_IMAGE} "
                        f"nodes ({', '.join(loads) or 'none'})")
    return loads[0]


class ImageRuns:
    """The loop: keep up to `limit` prompts queued, poll them, save each one's outputs when it finishes."""

    def __init__(self, runner, comfy, prompt: dict[str, Any], node: str, args, state: dict) -> None:
        self.runner, self.comfy, self.prompt, self.node, self.args = runner, comfy, prompt, node, args
        self.in_flight: dict[str, tuple[Path, float]] = state.setdefault("in_flight", {})
        self.client_id = str(uuid.uuid4())
        self.done = self.failed = 0
        self.first_error = ""

    def folder(self, image: Path) -> Path:
        return self.args.out / image.stem

    def queue(self, image: Path) -> None:
        prompt = copy.deepcopy(self.prompt)
        prompt[self.node]["inputs"]["image"] = self.comfy.upload(image)
        prompt_id = self.comfy.queue(prompt, self.client_id)
        self.in_flight[prompt_id] = (image, time.monotonic())
        print(f"queued {image.name} as prompt {prompt_id}", flush=True)

    def poll(self) -> None:
        for prompt_id, (image, queued) in list(self.in_flight.items()):
            entry = self.comfy.history(prompt_id)
            if entry is None:
                if time.monotonic() - queued > self.args.timeout:
                    self.comfy.cancel(prompt_id)
                    del self.in_flight[prompt_id]
                    self.fail(image, f"no result after {self.args.timeout:g} s; cancelled prompt {prompt_id}")
                continue
            del self.in_flight[prompt_id]
            if (entry.get("status") or {}).get("status_str") == "error":
                self.fail(image, self.runner.failure_lines(entry)[0].removeprefix("error: "))
            else:
                self.save(image, entry)

    def save(self, image: Path, entry: dict[str, Any]) -> None:
        final = self.folder(image)
        temp = final.with_name(f".{final.name}.{os.getpid()}.part")
        shutil.rmtree(temp, ignore_errors=True)
        written = self.runner.save_outputs(self.comfy, entry, temp, self.args.previews)
        if final.exists():  # --overwrite
            shutil.rmtree(final)
        os.replace(temp, final)
        self.done += 1
        print(f"{image.name} -> {final}{os.sep} ({len(written)} file(s))", flush=True)

    def fail(self, image: Path, message: str) -> None:
        self.failed += 1
        self.first_error = self.first_error or f"{image.name}: {message}"
        print(f"failed: {image.name}: {message}", flush=True)


def run_images(runner, args, comfy, prompt: dict[str, Any], state: dict) -> int:
    """`runner` is run_workflow (its Comfy client, RunError, save_outputs, failure_lines)."""
    node = target_node(prompt, args.image_node, runner.RunError)
    try:
        images = [path for path, _ in find_images([args.images], False, [args.out])]
    except PlanError as exc:
        raise runner.RunError(f"error: {exc}") from None
    batch = ImageRuns(runner, comfy, prompt, node, args, state)
    todo = deque(p for p in images if args.overwrite or not batch.folder(p).is_dir())
    skipped = len(images) - len(todo)
    if skipped:
        print(f"skipping {skipped} image(s) whose outputs exist in {args.out} (--overwrite redoes them)")
    started = time.monotonic()
    while todo or batch.in_flight:
        while todo and len(batch.in_flight) < args.concurrency:
            batch.queue(todo.popleft())
        time.sleep(runner.POLL_SECONDS)
        batch.poll()
    print(f"{len(images)} images: {batch.done} done, {skipped} skipped (outputs exist), {batch.failed} failed; "
          f"{time.monotonic() - started:.1f} s; results in {args.out}")
    if batch.failed:
        raise runner.RunError(f"error: {batch.failed} of {len(images)} images failed; first, {batch.first_error}")
    return 0
