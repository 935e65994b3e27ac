"""Peak resident memory of this process, without importing anything heavy (the batch child measures the CLI)."""
from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MiB.

    Linux: VmHWM from /proc/self/status, the high-water mark of this process's own address space. Not ru_maxrss:
    Linux carries ru_maxrss over fork and exec, so a child started by a big parent (this benchmark after the 8K
    figure, or the stand-in's buffers) would report the parent's size. Elsewhere ru_maxrss (KiB on Linux/BSD,
    bytes on macOS).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


def ru_maxrss_mb() -> float:
    """ru_maxrss as reported (includes what fork/exec carried over from the parent on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0
