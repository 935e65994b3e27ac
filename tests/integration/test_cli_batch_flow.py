"""The batch CLI's flow control: bounded images in flight, AIMD on rate limits, progress lines; against the stand-in."""
from __future__ import annotations

import io
import re
import sys
import threading
import weakref

import batch
import erase as cli
from aimd import Aimd
from progress import Progress
from volc_pack.utils.api.limiter import LIMITER
from volc_pack.utils.standin import Fault

from helpers.folders import outputs, photo_folder


class Gauge:
    """Current and highest count, safe from any thread (arrays may be freed on a worker thread)."""

    def __init__(self) -> None:
        self.now = self.high = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.now += n
            self.high = max(self.high, self.now)


def test_at_most_concurrency_images_are_loaded_and_in_flight(standin_env, tmp_path, monkeypatch):
    photos, masks = photo_folder(tmp_path, 10)
    standin_env.inject(Fault("latency", seconds=0.2, times=10))
    loaded, calling, limits = Gauge(), Gauge(), []
    real_load, real_erase = batch.load_job, cli.erase_module.erase_batch

    def load(job):
        image, mask = real_load(job)
        loaded.add(1)
        weakref.finalize(image, loaded.add, -1)  # counts the image until its pixels are freed
        return image, mask

    async def erase(*args, **kwargs):
        calling.add(1)
        limits.append(LIMITER.limit)
        try:
            return await real_erase(*args, **kwargs)
        finally:
            calling.add(-1)

    monkeypatch.setattr(batch, "load_job", load)
    monkeypatch.setattr(cli.erase_module, "erase_batch", erase)
    before = LIMITER.limit
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(tmp_path / "out"), "--concurrency", "3"]) == 0
    assert len(outputs(tmp_path / "out")) == 10
    assert loaded.high <= 3 and loaded.now == 0
    assert calling.high == 3 and set(limits) == {3}  # --concurrency set the process-wide bound for the run...
    assert LIMITER.limit == before  # ...and the run gave it back


def test_without_concurrency_the_process_wide_bound_applies(standin_env, tmp_path, monkeypatch):
    photos, masks = photo_folder(tmp_path, 3)
    limits = []
    real_erase = cli.erase_module.erase_batch

    async def erase(*args, **kwargs):
        limits.append(LIMITER.limit)
        return await real_erase(*args, **kwargs)

    monkeypatch.setattr(cli.erase_module, "erase_batch", erase)
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(tmp_path / "out")]) == 0
    assert set(limits) == {LIMITER.limit}


def test_sustained_rate_limits_lower_the_concurrency_and_successes_raise_it_again(standin_env, tmp_path, capsys):
    photos, masks = photo_folder(tmp_path, 16)
    # The first four calls are throttled (the client retries them after its backoff); every later call takes
    # 0.3 s, so successes keep coming after the last throttled image has been counted.
    standin_env.inject(Fault("error", code=50429, times=4), Fault("latency", seconds=0.3, times=16))
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(tmp_path / "out"), "--concurrency", "4"]) == 0
    out = capsys.readouterr().out
    moves = re.search(r"concurrency lowered \d+ time\(s\), to (\d+) at the lowest; ended at (\d+) of 4", out)
    assert moves, out
    lowest, ended = int(moves.group(1)), int(moves.group(2))
    assert lowest < 4 and ended > lowest
    assert len(outputs(tmp_path / "out")) == 16 and standin_env.count("i2i_inpainting") == 20


def test_aimd_halves_on_sustained_throttling_and_adds_one_per_window_of_successes():
    limits = []
    aimd = Aimd(8, limits.append)
    aimd.observe(True)
    assert aimd.limit == 8  # one throttled call: the client's own retry handles it
    aimd.observe(True)
    assert aimd.limit == 4 and limits == [4]
    for _ in range(4):
        aimd.observe(False)
    assert aimd.limit == 5
    for _ in range(5 + 6 + 7 + 8):
        aimd.observe(False)
    assert aimd.limit == 8 and limits == [4, 5, 6, 7, 8]  # never above the ceiling
    for _ in range(20):
        aimd.observe(True)
    assert aimd.limit == 1 and aimd.lowest == 1 and "to 1 at the lowest" in aimd.summary()


def test_plain_progress_lines_say_done_total_failures_rate_and_eta():
    stream = io.StringIO()
    progress = Progress(3, stream=stream, terminal=False, every=0)
    progress.advance()
    progress.advance(failed=True)
    progress.close()
    text = stream.getvalue().splitlines()
    assert re.fullmatch(r"1/3 done, 0 failed, [\d.]+ images/s, ETA \d+s", text[0])
    assert text[1].startswith("2/3 done, 1 failed") and text[-1].startswith("2/3 done, 1 failed")


def test_a_terminal_gets_a_tqdm_bar_and_plain_lines_without_tqdm(monkeypatch, capsys):
    progress = Progress(2, terminal=True)
    assert progress.bar is not None
    progress.advance()
    progress.advance(failed=True)
    progress.close()
    assert "2/2" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    progress = Progress(2, terminal=True, every=0)
    assert progress.bar is None
    progress.advance()
    progress.close()
    assert "1/2 done, 0 failed" in capsys.readouterr().out


def test_a_refused_key_stops_the_batch_at_the_first_answer(standin_env, tmp_path, capsys, monkeypatch):
    photos, masks = photo_folder(tmp_path, 6)
    monkeypatch.setenv("VOLC_SECRETKEY", "wrong-secret-EXAMPLE")
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(tmp_path / "out"), "--concurrency", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "VOLC_SECRETKEY" in err[0]
    assert standin_env.count() <= 2 and outputs(tmp_path / "out") == []


def test_failures_in_a_row_stop_new_images_and_say_so(standin_env, tmp_path, capsys):
    photos, masks = photo_folder(tmp_path, 14)
    standin_env.inject(Fault("error", code=50411, times=100))  # input review: not retried, fails every image
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(tmp_path / "out"), "--concurrency", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stopped starting new images after 10 failed in a row" in err[0]
    assert 10 <= standin_env.count("i2i_inpainting") <= 11  # the one in flight when the tenth failed may finish
