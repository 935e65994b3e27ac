"""Figure 1: time to prepare one call, against the floor of a bare encode of the same pixels.

Ours: `utils.erase._prepare` (binarise, region, fit, float -> uint8 on two threads, choose and encode JPEG/PNG under
5 MB with the mask's PNG made meanwhile) + the client's own code up to the socket: `VisualClient.inpaint` -> `call`
-> `_attempt` -> `_exchange` (base64 of both images, the JSON body, Signature V4 with SHA-256 over the body), stopped
where `_exchange` asks for its connection pool, right before the HTTP post. The paste-back weights are not in it:
they are computed while the calls are in flight. Input: float32 RGB as a ComfyUI IMAGE holds it.

Floor: Pillow encodes the already-uint8 image in the format, quality and chroma subsampling our encoder ended with
(so both sides produce the same bytes; checked), Pillow encodes the uint8 0/255 mask as PNG (compress level 1, like
ours), base64 of both. No float conversion, no search, no JSON, no signature.

crop_to_mask is OFF here: both sides then encode the same whole frame. With crop on, ours would send only the region
around the mask and the ratio would flatter us.

Timing: wall time (time.perf_counter), the figure the user waits for, on however many cores the machine has; the
process CPU time (time.process_time, all threads) of the same runs is reported beside it, and the CPU time of the
calling thread alone (time.thread_time): the critical path, what the wall time is when a second core is free for
the pool's share (the floor runs on one thread, its CPU time is its critical path). Ours and floor interleaved,
median of `reps`.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import statistics
import threading
import time
from contextlib import asynccontextmanager

import numpy as np
from PIL import Image, JpegImagePlugin

from common import photo_uint8, spoon_mask, to_float, warm_malloc

from volc_pack.utils import erase
from volc_pack.utils.api import client as client_module
from volc_pack.utils.imaging import codec, convert, masks
from volc_pack.utils.api.client import ClientConfig, InpaintOptions, VisualClient
from volc_pack.utils.api.credentials import Credentials


class _Sent(Exception):
    """Raised where the client would start sending: everything before it has run."""


class _FreeSlot:
    """Stands in for the ProcessLimiter: a slot at once (waiting for one is not preparation)."""

    @asynccontextmanager
    async def slot(self):
        yield


async def _stop_at_pool(endpoint: str):
    """Stands in for client.pool_for, which _exchange calls after signing, right before the HTTP post."""
    raise _Sent


class ClientPath:
    """The real VisualClient (example key, the production endpoint URL) on one event loop, stopped at the send."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = VisualClient(Credentials("AKLTBENCHEXAMPLEACCESSKEY00000", "bench-example-secret",
                                               source="bench"),
                                   ClientConfig(endpoint="https://visual.volcengineapi.com"), limiter=_FreeSlot())

    def send(self, image_bytes: bytes, mask_bytes: bytes, options: InpaintOptions) -> None:
        pool_for, client_module.pool_for = client_module.pool_for, _stop_at_pool
        try:
            self.loop.run_until_complete(self.client.inpaint(image_bytes, mask_bytes, options))
        except _Sent:
            return
        finally:
            client_module.pool_for = pool_for
        raise RuntimeError("the client returned without reaching the send")

    def close(self) -> None:
        self.loop.close()


def ours(path: ClientPath, image: np.ndarray, mask: np.ndarray, settings: erase.EraseSettings) -> erase.Prepared:
    prep = erase._prepare(0, image, mask, settings)
    path.send(prep.image_bytes, prep.mask_bytes, settings.options)
    return prep


def floor(rgb: np.ndarray, mask_u8: np.ndarray, fmt: str, quality: int | None, subsampling: int) -> tuple[bytes, bytes]:
    buf = io.BytesIO()
    if fmt == "JPEG":
        Image.fromarray(rgb).save(buf, format="JPEG", quality=quality, subsampling=subsampling)
    else:
        Image.fromarray(rgb).save(buf, format="PNG", compress_level=codec.PNG_LEVEL)
    mbuf = io.BytesIO()
    Image.fromarray(mask_u8).save(mbuf, format="PNG", compress_level=1)
    image_bytes, mask_bytes = buf.getvalue(), mbuf.getvalue()
    base64.b64encode(image_bytes), base64.b64encode(mask_bytes)
    return image_bytes, mask_bytes


class _CountJpeg:
    """Counts JPEG encodes (codec._jpeg) during one untimed run: full-size ones, and smaller ones (samples)."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size, self.full, self.partial = size, 0, 0

    def __enter__(self):
        self._orig = codec._jpeg

        def counting(img, *args, **kwargs):
            if img.size == self.size:
                self.full += 1
            else:
                self.partial += 1
            return self._orig(img, *args, **kwargs)
        codec._jpeg = counting
        return self

    def __exit__(self, *exc):
        codec._jpeg = self._orig


def timed(fn) -> tuple[float, float, float]:
    """(wall, process CPU, this thread's CPU) seconds of one fn()."""
    wall, cpu, mine = time.perf_counter(), time.process_time(), time.thread_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu, time.thread_time() - mine


def wall_ms(fn, reps: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(reps)) * 1e3


def breakdown(path: ClientPath, image: np.ndarray, mask: np.ndarray, settings: erase.EraseSettings,
              reps: int = 3) -> dict[str, float]:
    """Wall ms of the main pieces of `ours`, one at a time (measured separately, so they do not add up exactly;
    in `ours` the mask's PNG overlaps the image's encode)."""
    wanted = masks.binarize(mask)
    u8 = convert.to_uint8(image)
    enc = codec.encode_image(u8)
    mask_png = codec.encode_mask(wanted)

    def body_pieces() -> None:
        path.send(enc.data, mask_png, settings.options)
    pieces = {
        "to_uint8": lambda: convert.to_uint8(image),
        "likely_png": lambda: codec._likely_png(u8),
        "encode_image": lambda: codec.encode_image(u8),
        "encode_mask": lambda: codec.encode_mask(wanted),
        "body_and_sign": body_pieces,
    }
    return {name: wall_ms(fn, reps) for name, fn in pieces.items()}


def parallel_speedup(reps: int = 3) -> float:
    """How much faster two threads of GIL-free C work (SHA-256 of 32 MB each) finish than one thread doing both:
    2.0 on two idle cores, near 1.0 when other processes keep the cores busy. Wall-time ratios that rely on a
    second core are only as good as this."""
    data = bytes(32 << 20)

    def digest() -> None:
        hashlib.sha256(data).digest()

    def two_threads() -> None:
        other = threading.Thread(target=digest)
        other.start()
        digest()
        other.join()
    return statistics.median(timed(lambda: (digest(), digest()))[0] / timed(two_threads)[0] for _ in range(reps))


def run(cases: list[tuple[str, int, float]], reps: int) -> list[dict]:
    """cases: (label, side, noise sigma in grey levels) -> one row each."""
    warm_malloc()
    settings = erase.EraseSettings(options=InpaintOptions(), crop=False)
    path = ClientPath()
    try:
        return [_case(path, settings, label, size, noise, reps) for label, size, noise in cases]
    finally:
        path.close()


def _case(path: ClientPath, settings: erase.EraseSettings, label: str, size: int, noise: float, reps: int) -> dict:
    rgb = photo_uint8(size, size, seed=size, noise=noise)
    image = to_float(rgb)
    mask = spoon_mask(size, size)
    mask_u8 = (mask >= 0.5).astype(np.uint8) * 255
    with _CountJpeg((size, size)) as counter:  # also the warm-up run
        prep = ours(path, image, mask, settings)
    fmt, quality = prep.report["format"], prep.report["quality"]
    subsampling = JpegImagePlugin.get_sampling(Image.open(io.BytesIO(prep.image_bytes))) if fmt == "JPEG" else 0
    image_bytes, mask_bytes = floor(rgb, mask_u8, fmt, quality, subsampling)
    same = image_bytes == prep.image_bytes and mask_bytes == prep.mask_bytes
    ours_s, floor_s = [], []
    for _ in range(reps):  # interleaved, so load changes on the shared machine hit both sides alike
        ours_s.append(timed(lambda: ours(path, image, mask, settings)))
        floor_s.append(timed(lambda: floor(rgb, mask_u8, fmt, quality, subsampling)))
    ours_ms, ours_cpu, ours_main = (statistics.median(s[k] for s in ours_s) * 1e3 for k in (0, 1, 2))
    floor_ms, floor_cpu = (statistics.median(s[k] for s in floor_s) * 1e3 for k in (0, 1))
    return {"label": label, "size": size, "noise": noise, "ours_ms": ours_ms, "floor_ms": floor_ms,
            "ratio": ours_ms / floor_ms, "ours_cpu_ms": ours_cpu, "floor_cpu_ms": floor_cpu,
            "cpu_ratio": ours_cpu / floor_cpu, "ours_main_ms": ours_main, "critical_ratio": ours_main / floor_cpu,
            "format": fmt if fmt == "PNG" else f"JPEG q{quality} {('4:4:4', '4:2:2', '4:2:0')[subsampling]}",
            "image_mb": len(prep.image_bytes) / 2**20, "jpeg_encodes": counter.full,
            "jpeg_sample_encodes": counter.partial, "same_bytes": same,
            "pieces": breakdown(path, image, mask, settings)}


if __name__ == "__main__":
    started = time.monotonic()
    for row in run([("1024", 1024, 2.5), ("2048", 2048, 2.5)], 3):
        print(row)
    print(f"{time.monotonic() - started:.1f} s")
