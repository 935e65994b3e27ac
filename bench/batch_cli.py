"""Figure 5: the batch CLI (scripts/erase.py on a folder with a folder of masks) as a user runs it.

    python bench/batch_cli.py [--quick]      # this figure alone (bench/run.py includes it)

Each run is a fresh process, `python bench/batch_cli.py --child ARGS`, which runs scripts/erase.py exactly as
`python scripts/erase.py ARGS` does and then prints its own peak memory (VmHWM) and CPU time (user + system, all
threads) as one JSON line. The stand-in runs in this parent process, every call held `latency` seconds by
Fault("latency"), so the child's CPU is the client's alone. Inputs are JPEG photos (bench/common.py's coffee photo,
8 distinct ones hard-linked under as many names as needed) with the spoon mask in a mask folder, paired by stem.

  wall vs ideal:  the batch's own time (from its summary line) against images x latency / concurrency
  peak RSS:       the same run with N and with N/10 images (memory must not grow with the number of images)
  CPU per call:   the child's CPU seconds / calls, start-up included; 1000 / that = calls/s one core can drive
  judged case:    120 photos of 1024x768 at 2 s and concurrency 8 (ideal 30 s), RSS against 24; then the same with
                  256x192 photos, whose CPU is small enough that only the batch machinery's own overhead is left
"""
from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ERASE = HERE.parent / "scripts" / "erase.py"
DISTINCT = 8

FULL = {"main": {"images": 1000, "size": (512, 384), "latency": 0.5, "concurrency": 8}, "small": 100,
        "judged": {"images": 120, "size": (1024, 768), "latency": 2.0, "concurrency": 8}, "judged_small": 24,
        "light": (256, 192)}
QUICK = {"main": {"images": 32, "size": (256, 192), "latency": 0.1, "concurrency": 8}, "small": 8,
         "judged": None, "judged_small": None, "light": None}


def child(argv: list[str]) -> None:
    """Run the CLI as __main__ in this process, then report this process's peak memory and CPU."""
    import resource

    from rss import peak_rss_mb

    sys.argv = [str(ERASE), *argv]
    started = time.monotonic()
    try:
        runpy.run_path(str(ERASE), run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"code": code, "peak_mb": peak_rss_mb(), "cpu_s": usage.ru_utime + usage.ru_stime,
                      "process_s": time.monotonic() - started}))


def make_inputs(root: Path, count: int, size: tuple[int, int]) -> tuple[Path, Path]:
    from PIL import Image

    from common import photo_uint8, spoon_mask

    photos, masks = root / "photos", root / "masks"
    photos.mkdir(parents=True)
    masks.mkdir()
    width, height = size
    mask = Image.fromarray((spoon_mask(width, height) * 255).astype("uint8"))
    for i in range(count):
        name = f"photo{i:05d}"
        if i < DISTINCT:
            Image.fromarray(photo_uint8(width, height, seed=i)).save(photos / f"{name}.jpg", quality=90)
            mask.save(masks / f"{name}.png")
            continue
        for folder, suffix in ((photos, ".jpg"), (masks, ".png")):
            source, target = folder / f"photo{i % DISTINCT:05d}{suffix}", folder / f"{name}{suffix}"
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
    return photos, masks


def run_cli(standin, root: Path, images: int, size: tuple[int, int], latency: float, concurrency: int) -> dict:
    from volc_pack.utils.standin import Fault

    from common import standin_credentials

    folder = root / f"{images}-{size[0]}x{size[1]}"
    photos, masks = make_inputs(folder, images, size)
    cred = standin_credentials()
    env = {**os.environ, "VOLC_VISUAL_ENDPOINT": standin.endpoint, "VOLC_ACCESSKEY": cred.access_key,
           "VOLC_SECRETKEY": cred.secret_key}
    env.pop("VOLC_SESSION_TOKEN", None)
    standin.clear()
    standin.inject(Fault("latency", seconds=latency, times=images))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-B", str(HERE / "batch_cli.py"), "--child", str(photos), "--mask",
                           str(masks), "--out", str(folder / "out"), "--concurrency", str(concurrency)],
                          env=env, check=False, capture_output=True, text=True, timeout=60 + images * latency * 2)
    wall = time.monotonic() - started
    lines = proc.stdout.strip().splitlines()
    stats = json.loads(lines[-1]) if lines else {}
    if proc.returncode != 0 or stats.get("code") != 0:
        raise RuntimeError(f"batch child failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    batch_s = float(re.search(r"; ([\d.]+) s", next(x for x in lines if x.startswith(f"{images} images:"))).group(1))
    calls = standin.count("i2i_inpainting")
    if calls != images:
        raise RuntimeError(f"batch child made {calls} calls for {images} images")
    shutil.rmtree(folder, ignore_errors=True)
    ideal = images * latency / concurrency
    return {"images": images, "size": f"{size[0]}x{size[1]}", "latency": latency, "concurrency": concurrency,
            "batch_s": batch_s, "wall_s": wall, "ideal_s": ideal, "ratio": batch_s / ideal, "calls": calls,
            "peak_mb": stats["peak_mb"], "cpu_ms_per_call": 1000 * stats["cpu_s"] / calls}


def run(standin, cfg: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="volc-bench-batch-") as tmp:
        root = Path(tmp)
        main = cfg["main"]
        result = {"main": run_cli(standin, root, **main),
                  "small": run_cli(standin, root, **{**main, "images": cfg["small"]})}
        if cfg["judged"]:
            judged = cfg["judged"]
            result["judged"] = run_cli(standin, root, **judged)
            result["judged_small"] = run_cli(standin, root, **{**judged, "images": cfg["judged_small"]})
            # the same with small photos: the client's CPU no longer matters, what is left is the machinery's own
            result["light"] = run_cli(standin, root, **{**judged, "size": cfg["light"]})
    return result


def table(fig: dict) -> list[str]:
    m, s = fig["main"], fig["small"]
    per_core = 1000 / m["cpu_ms_per_call"]
    out = [f"5. Batch CLI: {m['images']} photos ({m['size']} JPEG, mask folder), stand-in latency {m['latency']:g} s, "
           f"--concurrency {m['concurrency']}, fresh process   (target <= 1.1x of ideal, RSS ratio <= 1.25)",
           f"   {m['images']} images: {m['batch_s']:6.1f} s   ideal {m['ideal_s']:5.1f} s   {m['ratio']:.2f}x   "
           f"(process wall incl. start-up {m['wall_s']:.1f} s)",
           f"   peak RSS: {s['images']} images {s['peak_mb']:.0f} MB, {m['images']} images {m['peak_mb']:.0f} MB: "
           f"{m['peak_mb'] / s['peak_mb']:.2f}x",
           f"   client CPU {m['cpu_ms_per_call']:.0f} ms per call (start-up included): one core drives "
           f"~{per_core:.0f} calls/s, this machine's {os.cpu_count()} ~{per_core * (os.cpu_count() or 1):.0f}"]
    if "judged" in fig:
        j, js = fig["judged"], fig["judged_small"]
        out += [f"   {j['images']} photos {j['size']} at {j['latency']:g} s latency, concurrency {j['concurrency']}: "
                f"{j['batch_s']:.1f} s, ideal {j['ideal_s']:.0f} s, {j['ratio']:.2f}x (process {j['wall_s']:.1f} s, "
                f"{j['cpu_ms_per_call']:.0f} ms CPU per call)",
                f"   peak RSS {js['images']} vs {j['images']} of those: {js['peak_mb']:.0f} / {j['peak_mb']:.0f} MB = "
                f"{j['peak_mb'] / js['peak_mb']:.2f}x",
                f"   the same with {fig['light']['size']} photos (little CPU per image): "
                f"{fig['light']['batch_s']:.1f} s, {fig['light']['ratio']:.2f}x of ideal"]
    return out


def keys(fig: dict) -> dict:
    m, s = fig["main"], fig["small"]
    result = {"batch_vs_ideal": round(m["ratio"], 3), "batch_rss_ratio": round(m["peak_mb"] / s["peak_mb"], 3),
              "batch_cpu_ms_per_call": round(m["cpu_ms_per_call"], 1),
              "batch_calls_per_s_per_core": round(1000 / m["cpu_ms_per_call"], 1),
              "batch_peak_rss_mb": round(m["peak_mb"], 1)}
    if "judged" in fig:
        result.update(judged_vs_ideal=round(fig["judged"]["ratio"], 3),
                      judged_rss_ratio=round(fig["judged"]["peak_mb"] / fig["judged_small"]["peak_mb"], 3),
                      light_vs_ideal=round(fig["light"]["ratio"], 3))
    return result


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(argv[1:])
        return 0
    sys.path.insert(0, str(HERE))
    import common  # noqa: F401  (loads the pack as volc_pack)
    from volc_pack.utils.standin import StandIn

    with StandIn() as standin:
        fig = run(standin, QUICK if "--quick" in argv else FULL)
    print("\n".join(table(fig)))
    print(json.dumps(keys(fig)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
