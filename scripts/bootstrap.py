"""Set up a private virtual environment (.venv) with what the pack needs, then re-run the caller inside it.

Used by scripts/demo.py and scripts/test.py so that each is one command on a fresh machine with only Python.
If the current interpreter already has everything (e.g. ComfyUI's own environment), nothing is installed.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
# torch comes from the user's ComfyUI in real use; for the demo/tests a CPU build is enough. Override with TORCH_SPEC.
TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.13.0")


def _missing(modules: list[str]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure(modules: list[str], extras: list[str]) -> None:
    """Return if `modules` import here; else build .venv with requirements (+ extras) and re-exec into it."""
    if not _missing(modules):
        return
    python = _venv_python()
    if Path(sys.prefix).resolve() == VENV.resolve():
        sys.exit(f"Setup incomplete: {', '.join(_missing(modules))} still missing in {VENV}; delete it and rerun.")
    if not python.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("Installing requirements (first run only) ...", flush=True)
    subprocess.run(pip + ["-r", str(ROOT / "requirements.txt"), TORCH_SPEC, *extras], check=True)
    os.execv(str(python), [str(python), *sys.argv])
