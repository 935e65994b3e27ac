"""Load the pack exactly as ComfyUI does: a module spec from the root __init__.py, under a name of our own.

Tests then import `volc_pack.utils.<module>`; absolute `utils`/`nodes` imports would reach ComfyUI's own modules.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACK = "volc_pack"


def _load_pack():
    if PACK in sys.modules:
        return sys.modules[PACK]
    spec = importlib.util.spec_from_file_location(PACK, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACK] = module
    spec.loader.exec_module(module)
    return module


_load_pack()
