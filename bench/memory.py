"""Figure 4: peak resident memory of erasing one size x size image with `variants` variants through the node
(VolcengineInpaintErase with its defaults), in a fresh process so nothing else this benchmark did counts.

The parent runs the stand-in (its memory is not counted) and starts `python bench/memory.py SIZE VARIANTS` with the
endpoint and the stand-in's key pair in the environment; the child prints one JSON line. ru_maxrss is the peak
since the process started: `baseline` after imports (torch, the pack), `with_input` once the IMAGE tensor exists
(it is built in row chunks, so making it never peaks higher than holding it), `peak` after the node ran; `after` is
what is still resident then (VmRSS), with the outputs held.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(size: int, variants: int) -> dict:
    import asyncio

    import torch  # a ComfyUI process has it loaded: count it in the baseline

    from common import peak_rss_mb, photo_uint8, ru_maxrss_mb, spoon_mask, to_float
    import volc_pack

    baseline = peak_rss_mb()
    node_cls = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
    defaults = {name: spec[1]["default"] for name, spec in node_cls.INPUT_TYPES()["required"].items()
                if len(spec) > 1 and "default" in spec[1]}
    image = torch.empty((1, size, size, 3), dtype=torch.float32)
    rgb = photo_uint8(size, size, seed=4)
    to_float(rgb, out=image[0].numpy())
    del rgb
    mask = torch.from_numpy(spoon_mask(size, size))[None]
    with_input = peak_rss_mb()
    images, paste_mask, report = asyncio.run(node_cls().erase(image, mask, **{**defaults, "variants": variants}))
    peak, after = peak_rss_mb(), _resident_mb()
    entries = json.loads(report)
    ok = (tuple(images.shape) == (variants, size, size, 3) and tuple(paste_mask.shape) == (variants, size, size)
          and entries[0]["status"] == "ok")
    return {"baseline_mb": baseline, "with_input_mb": with_input, "peak_mb": peak, "after_mb": after, "ok": ok,
            "mask_planes": 1 if paste_mask.stride(0) == 0 else variants,
            "ru_maxrss_mb": ru_maxrss_mb(),
            "images_out_mb": images.numel() * 4 / 2**20, "masks_out_mb": paste_mask.numel() * 4 / 2**20,
            "input_mb": image.numel() * 4 / 2**20, "mask_in_mb": mask.numel() * 4 / 2**20,
            "sent": "x".join(map(str, entries[0].get("sent_size") or []))}


def _resident_mb() -> float:
    """Resident now (Linux: /proc/self/statm, in pages); nan elsewhere."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def run(standin, size: int, variants: int, timeout: float = 120.0) -> dict:
    from common import standin_credentials
    cred = standin_credentials()
    env = {**os.environ, "VOLC_VISUAL_ENDPOINT": standin.endpoint, "VOLC_ACCESSKEY": cred.access_key,
           "VOLC_SECRETKEY": cred.secret_key, "VOLC_MAX_CONCURRENCY": "4"}
    env.pop("VOLC_SESSION_TOKEN", None)
    standin.clear()
    proc = subprocess.run([sys.executable, "-B", str(HERE / "memory.py"), str(size), str(variants)], env=env,
                          check=False, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    calls = [r for r in standin.requests if r.req_key == "i2i_inpainting" and r.http_status == 200]
    if not result["ok"] or len(calls) != variants:
        raise RuntimeError(f"memory child: ok={result['ok']}, {len(calls)} of {variants} calls succeeded")
    return {"size": size, "variants": variants, **result}


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    print(json.dumps(child(int(sys.argv[1]), int(sys.argv[2]))))
