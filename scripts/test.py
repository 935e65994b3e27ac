"""Run the lint and the test suite: `python scripts/test.py [pytest args]`. Sets up .venv on first use."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bootstrap  # noqa: E402

bootstrap.ensure(["httpx", "PIL", "numpy", "torch", "pytest", "volcengine", "aiohttp", "ruff", "tqdm"],
                 ["pytest>=8", "volcengine==1.0.229", "aiohttp>=3.9", "ruff==0.17.6", "tqdm>=4.60"])

import pytest  # noqa: E402

ROOT = bootstrap.ROOT
lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(ROOT)], cwd=ROOT)
if lint.returncode:
    sys.exit("ruff found the problems above.")
# rootdir = tests/: with the repository root as rootdir pytest imports the pack's own __init__.py as a package only
# when the folder's name is a Python identifier, and fails in a clone named comfyui-volcengine-inpainting.
args = sys.argv[1:]
paths = [] if any(Path(a.split("::")[0]).exists() for a in args if not a.startswith("-")) else [str(ROOT / "tests")]
sys.exit(pytest.main(["-q", "-rs", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT / "tests"),
                      *paths, *args]))
