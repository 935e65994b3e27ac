"""Figure 2: wall time of erase_batch for images x variants calls against the stand-in, each call held `latency`
seconds by a Fault("latency"), against the ideal ceil(calls / in_flight) * latency.

The stand-in runs in this process (its threads share the 2 cores with the client, as a slow remote service would
not): what exceeds the ideal is client preparation, paste-back, HTTP and the stand-in's own fill and encode.
Sequential (in_flight 1) runs fewer calls and is scaled up linearly: each call waits the same latency, so the time
per call does not depend on how many calls there are.
"""
from __future__ import annotations

import asyncio
import base64
import json
import math
import time

import httpx
import numpy as np

from common import ellipse_mask, photo_uint8, standin_client, standin_credentials, spoon_mask, to_float

from volc_pack.utils.api.client import InpaintOptions
from volc_pack.utils.erase import EraseSettings, _prepare, erase_batch
from volc_pack.utils.standin import Fault
from volc_pack.utils.api.signing import sign_request


def _batch(images: int, size: int, obj: str) -> tuple[np.ndarray, np.ndarray]:
    stack = np.empty((images, size, size, 3), np.float32)
    for i in range(images):
        to_float(photo_uint8(size, size, seed=100 + i), out=stack[i])
    if obj == "spoon":
        return stack, spoon_mask(size, size)[None]
    return stack, small_object(size, size)[None]


def small_object(width: int, height: int) -> np.ndarray:
    """A blemish-sized ellipse (80x60 px on 1024x1024) right of centre."""
    return ellipse_mask(width, height, width * 0.6, height * 0.45, width * 40 / 1024, height * 30 / 1024)


def timed_batch(standin, images: int, variants: int, in_flight: int, latency: float, size: int,
                obj: str = "small") -> dict:
    stack, mask = _batch(images, size, obj)
    calls = images * variants
    standin.clear()
    standin.inject(Fault("latency", seconds=latency, times=calls, action="i2i_inpainting"))
    client = standin_client(standin.endpoint, in_flight)
    settings = EraseSettings(variants=variants)
    started = time.perf_counter()
    out = asyncio.run(erase_batch(stack, mask, settings, client))
    wall = time.perf_counter() - started
    sent = [r for r in standin.requests if r.req_key == "i2i_inpainting"]
    if len(sent) != calls or standin.pending_faults() or any(r.http_status != 200 for r in sent):
        raise RuntimeError(f"expected {calls} delayed successful calls, the stand-in saw {len(sent)} "
                           f"({standin.pending_faults()} faults left)")
    if out.images.shape != (calls, size, size, 3):
        raise RuntimeError(f"unexpected output shape {out.images.shape}")
    ideal = math.ceil(calls / in_flight) * latency
    return {"calls": calls, "in_flight": in_flight, "wall_s": wall, "ideal_s": ideal,
            "ratio": wall / ideal if ideal else float("inf")}


def bare_http(standin, images: int, variants: int, in_flight: int, latency: float, size: int,
              obj: str = "small") -> dict:
    """The same calls with nothing around them: bodies prepared beforehand, a semaphore, httpx, JSON and base64
    decode of the answer; no preparation, no retry policy, no paste-back. What the stand-in and HTTP cost alone."""
    stack, mask = _batch(images, size, obj)
    settings = EraseSettings(variants=variants)
    preps = [_prepare(i, stack[i], mask[0], settings) for i in range(images)]
    cred = standin_credentials()
    url = f"{standin.endpoint}/?Action=Img2ImgInpainting&Version=2022-08-31"
    standin.clear()
    standin.inject(Fault("latency", seconds=latency, times=images * variants, action="i2i_inpainting"))

    async def main() -> None:
        gate = asyncio.Semaphore(in_flight)
        async with httpx.AsyncClient(timeout=120.0) as http:
            async def one(prep, seed: int) -> None:
                body = {"req_key": "i2i_inpainting", "binary_data_base64": [
                    base64.b64encode(prep.image_bytes).decode(), base64.b64encode(prep.mask_bytes).decode()],
                    **InpaintOptions(seed=seed).to_json()}
                payload = json.dumps(body, separators=(",", ":")).encode()
                headers = sign_request("POST", url, {"Content-Type": "application/json"}, payload,
                                       cred.access_key, cred.secret_key)
                headers.pop("Host")
                async with gate:
                    answer = (await http.post(url, content=payload, headers=headers)).json()
                base64.b64decode(answer["data"]["binary_data_base64"][0])
            await asyncio.gather(*(one(p, v) for p in preps for v in range(variants)))

    started = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - started
    ok = [r for r in standin.requests if r.req_key == "i2i_inpainting" and r.http_status == 200]
    if len(ok) != images * variants:
        raise RuntimeError(f"bare HTTP run: {len(ok)} of {images * variants} calls succeeded")
    ideal = math.ceil(images * variants / in_flight) * latency
    return {"calls": images * variants, "in_flight": in_flight, "wall_s": wall, "ideal_s": ideal,
            "ratio": wall / ideal if ideal else float("inf")}


def run(standin, *, images: int, variants: int, latency: float, size: int, seq_calls: int, reps: int) -> dict:
    timed_batch(standin, 1, 1, 1, 0.0, size)  # warm-up: first-touch page faults, pools, threads
    ours, bare = [], []
    for _ in range(reps):  # interleaved, so load changes on the shared machine hit both alike
        ours.append(timed_batch(standin, images, variants, 4, latency, size))
        bare.append(bare_http(standin, images, variants, 4, latency, size))

    def median(runs):
        return sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]

    seq_variants = min(variants, seq_calls)
    sequential = timed_batch(standin, max(1, seq_calls // seq_variants), seq_variants, 1, latency, size)
    scale = (images * variants) / sequential["calls"]
    return {"concurrent": median(ours), "concurrent_runs": [r["wall_s"] for r in ours], "bare": median(bare),
            "bare_runs": [r["wall_s"] for r in bare], "sequential": sequential,
            "sequential_scaled_s": sequential["wall_s"] * scale, "sequential_ideal_s": images * variants * latency,
            "scale": scale, "latency": latency, "size": size, "images": images, "variants": variants}
