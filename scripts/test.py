"""Run the test suite: `python scripts/test.py [pytest args]`. Sets up .venv on first use."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bootstrap  # noqa: E402

bootstrap.ensure(["httpx", "PIL", "numpy", "torch", "pytest", "volcengine", "aiohttp"],
                 ["pytest>=8", "volcengine==1.0.229", "aiohttp>=3.9"])

import pytest  # noqa: E402

sys.exit(pytest.main(["-q", "-rs", "--rootdir", str(bootstrap.ROOT), str(bootstrap.ROOT / "tests"), *sys.argv[1:]]))
