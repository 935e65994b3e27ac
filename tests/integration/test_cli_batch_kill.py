"""The batch CLI as its own process: killed halfway it leaves only complete files and resumes with one call per
missing image; Ctrl-C lets the images in flight finish (a second one abandons them); a terminal gets a bar."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest
from PIL import Image
from volc_pack.utils.standin import Fault

from helpers.folders import HEIGHT, WIDTH, outputs, photo_folder, start_cli

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")


def wait_for(condition, what: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the CLI ended (exit {proc.returncode}) before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def complete(path) -> bool:
    with Image.open(path) as image:
        image.load()  # a truncated PNG raises here
        return image.size == (WIDTH, HEIGHT)


def test_a_run_killed_halfway_leaves_complete_files_and_the_rerun_calls_once_per_missing_image(standin, tmp_path):
    photos, masks = photo_folder(tmp_path, 16)
    out = tmp_path / "out"
    args = [photos, "--mask", masks, "--out", out, "--concurrency", "2"]
    standin.inject(Fault("latency", seconds=0.4, times=16))
    proc = start_cli(args, standin)
    wait_for(lambda: len(outputs(out)) >= 5, "five outputs", proc)
    proc.kill()  # SIGKILL: no handler runs, nothing is flushed or cleaned up
    proc.communicate()
    done = outputs(out)
    assert 5 <= len(done) < 16
    assert all(complete(p) for p in done)
    assert all(json.loads(line)["status"] == "ok" for line in (out / "report.jsonl").read_text().splitlines())
    missing = 16 - len(done)

    standin.clear()
    proc = start_cli(args, standin)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert standin.count("i2i_inpainting") == missing
    assert f"{missing} erased, {16 - missing} skipped (outputs exist)" in stdout
    assert len(outputs(out)) == 16 and all(complete(p) for p in outputs(out))


def two_in_flight(standin, tmp_path, images: int, latency: float) -> tuple[subprocess.Popen, object]:
    """The CLI on `images` photos, 2 at a time, each call held `latency` s; returns once two calls are in flight."""
    photos, masks = photo_folder(tmp_path, images)
    out = tmp_path / "out"
    standin.inject(Fault("latency", seconds=latency, times=images))
    proc = start_cli([photos, "--mask", masks, "--out", out, "--concurrency", "2"], standin)
    wait_for(lambda: standin.count("i2i_inpainting") >= 2, "two calls in flight", proc)
    return proc, out


def test_ctrl_c_finishes_and_writes_the_images_in_flight_then_exits_130(standin, tmp_path):
    proc, out = two_in_flight(standin, tmp_path, 8, 1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    started = standin.count("i2i_inpainting")
    assert 2 <= started < 8  # no new image was started after Ctrl-C...
    assert len(outputs(out)) == started and all(complete(p) for p in outputs(out))  # ...and each one started landed
    assert "interrupted" in stdout + stderr and "run the same command again" in stderr
    assert f"{started} erased" in stdout


def test_a_second_ctrl_c_abandons_the_images_in_flight(standin, tmp_path):
    proc, out = two_in_flight(standin, tmp_path, 4, 30.0)
    proc.send_signal(signal.SIGINT)
    first = proc.stdout.readline()
    while first and "interrupted" not in first:  # the first Ctrl-C has been handled: now the second
        first = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)  # far less than the stand-in's 30 s
    assert proc.returncode == 130, stderr
    assert "finishing the 2 image(s) in flight" in first
    assert "2 image(s) abandoned in flight" in stderr and outputs(out) == []
    assert standin.count("i2i_inpainting") == 2


def test_on_a_terminal_progress_is_a_bar(standin, tmp_path):
    import fcntl, pty, struct, termios  # noqa: E401 - POSIX only, like this file

    photos, masks = photo_folder(tmp_path, 3)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = start_cli([photos, "--mask", masks, "--out", tmp_path / "out"], standin, stderr=follower)
    os.close(follower)
    chunks: list[bytes] = []

    def drain() -> None:  # read while it runs: Linux may drop what is left in a pty once the writer is gone
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the writer closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(leader)
    bar = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0 and "3/3" in bar and "img/s" in bar, bar
    assert "done," not in stdout  # no plain progress lines when there is a bar
