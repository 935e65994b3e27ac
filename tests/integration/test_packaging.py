"""pyproject.toml lists every package folder, so an installed copy has every module a moved file now lives in."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME = "comfyui_volcengine_inpainting"


def test_every_package_folder_is_listed():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(re.findall(rf'"({NAME}[\w.]*)"', text.split("[tool.setuptools]", 1)[1].split("\n[", 1)[0]))
    folders = {".".join((NAME, *p.parent.relative_to(ROOT).parts)) for top in ("nodes", "utils")
               for p in (ROOT / top).rglob("__init__.py")}
    assert folders | {NAME} == listed
