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


def load_pack(name: str = PACK, *, nodes: bool = True) -> ModuleType:
    """The pack as a package. nodes=False skips the root __init__.py (the node classes and torch, ~2 s and
    ~200 MB): enough for `<name>.utils.*`, which is all the CLI needs. A later full load completes the same module."""
    module = sys.modules.get(name)
    if module is not None and not (nodes and getattr(module, "_bare", False)):
        return module
    if module is None:
        spec = importlib.util.spec_from_file_location(name, ROOT / "__init__.py",
                                                      submodule_search_locations=[str(ROOT)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        if not nodes:
            module._bare = True
            return module
    try:
        module.__spec__.loader.exec_module(module)
    except BaseException:
        if not getattr(module, "_bare", False):
            del sys.modules[name]
        raise
    module.__dict__.pop("_bare", None)
    return module
