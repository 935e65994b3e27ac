"""Figure 3: a small object on an 8K photo, sent as a crop around the mask (crop_to_mask on, the default) against the
whole frame (crop off: the frame is fitted to 4096 px and the result scaled back).

Bytes are the request bodies the stand-in received (`Recorded.body_size`: JSON with both images in base64).
Checked on each output: full input size, and every pixel whose paste-back weight is 0 bit-identical to the input
(compared as uint32 bit patterns, in row chunks so no full-frame temporary is made).
"""
from __future__ import annotations

import asyncio
import gc
import time

import numpy as np

from common import ellipse_mask, photo_uint8, standin_client, to_float

from volc_pack.utils.erase import EraseSettings, erase_batch


def small_object(width: int, height: int) -> np.ndarray:
    """A 240x180 px ellipse (0.13% of an 8K frame) right of centre."""
    return ellipse_mask(width, height, width * 0.62, height * 0.55, 120, 90)


def outside_bit_exact(image: np.ndarray, out: np.ndarray, weights: np.ndarray) -> tuple[bool, int]:
    """(every weight-0 pixel identical to the input bit for bit, pixels that differ anywhere)."""
    exact, changed = True, 0
    rows = max(1, (1 << 20) // (image.shape[1] * 3))
    for r0 in range(0, image.shape[0], rows):
        a = image[r0:r0 + rows].view(np.uint32)
        b = out[r0:r0 + rows].view(np.uint32)
        diff = np.any(a != b, axis=2)
        changed += int(diff.sum())
        if np.any(diff & (weights[r0:r0 + rows] == 0)):
            exact = False
    return exact, changed


def one(standin, image: np.ndarray, mask: np.ndarray, crop: bool) -> dict:
    standin.clear()
    client = standin_client(standin.endpoint, 4)
    settings = EraseSettings(crop=crop)
    gc.collect()
    started = time.perf_counter()
    result = asyncio.run(erase_batch(image[None], mask[None], settings, client))
    wall = time.perf_counter() - started
    sent = [r for r in standin.requests if r.req_key == "i2i_inpainting"]
    if len(sent) != 1 or sent[0].http_status != 200:
        raise RuntimeError(f"expected one successful call, the stand-in saw {[(r.http_status, r.code) for r in sent]}")
    exact, changed = outside_bit_exact(image, result.images[0], result.masks[0])
    info = sent[0].images[0]
    report = result.reports[0]
    row = {"crop": crop, "wall_s": wall, "body_bytes": sent[0].body_size, "image_bytes": info.byte_size,
           "sent": f"{info.width}x{info.height} {info.format}", "region": report["region"],
           "out_shape": list(result.images.shape[1:3]), "full_size": result.images.shape[1:3] == image.shape[:2],
           "outside_bit_exact": exact, "changed_pixels": changed}
    del result
    gc.collect()
    return row


def run(standin, width: int, height: int, reps: int) -> dict:
    image = to_float(photo_uint8(width, height, seed=8))
    mask = small_object(width, height)
    one(standin, image, mask, True)  # warm-up: the first full-frame output of a process pays its page faults
    runs = {True: [], False: []}
    for _ in range(reps):  # interleaved, so load changes on the shared machine hit both alike
        for crop in (True, False):
            runs[crop].append(one(standin, image, mask, crop))
    med = {crop: sorted(rs, key=lambda r: r["wall_s"])[len(rs) // 2] for crop, rs in runs.items()}
    cropped, whole = med[True], med[False]
    return {"width": width, "height": height, "mask_px": int(mask.sum()), "crop": cropped, "whole": whole, "reps": reps,
            "bytes_ratio": cropped["body_bytes"] / whole["body_bytes"],
            "time_ratio": cropped["wall_s"] / whole["wall_s"],
            "walls": {"crop": [r["wall_s"] for r in runs[True]], "whole": [r["wall_s"] for r in runs[False]]}}
