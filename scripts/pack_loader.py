"""Import this pack the way ComfyUI does: a module spec from the root __init__.py under a name of our own.

Scripts and tests use it so they exercise the same relative imports ComfyUI does (an absolute `import utils`
would reach ComfyUI's own package inside a real install)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
PACK = "volc_pack"


def load_pack(name: str = PACK) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
