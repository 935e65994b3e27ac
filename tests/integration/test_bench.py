"""bench/run.py --quick runs end to end and ends with its JSON summary (no timing thresholds: machines differ)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("prepare_vs_floor", "concurrency_vs_ideal", "crop_upload_ratio", "peak_rss_mb", "batch_vs_ideal",
        "batch_rss_ratio", "batch_cpu_ms_per_call")


def test_quick_benchmark_prints_the_four_figures_last():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick"], cwd=ROOT,
                          check=False, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    for key in KEYS:
        value = result[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), key
        assert math.isfinite(value) and value > 0, (key, value)
    # correctness the benchmark checks on the way (not timings): full-size output, untouched pixels bit-exact
    assert result["crop_full_size"] is True and result["crop_outside_bit_exact"] is True
    assert "Machine:" in proc.stdout and "numpy" in proc.stdout and "Pillow" in proc.stdout
