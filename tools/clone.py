"""Run `vpeft` from a clone that is not installed (`tools/reproduce`, `mkdocs build` in the clone).

The repository keeps `tools/` and `methods/`; installed, they are `vpeft` and `vpeft.methods`. This maps the
clone's folders to those names for scripts that start outside the package. Loaded by file path, so it imports
nothing of vpeft itself.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def use_clone(root: Path) -> None:
    """Import `vpeft` from the clone at `root`, unless a `vpeft` is already imported (then that one is used) or
    `root` is no clone (an installed package: its own `vpeft` is on the path)."""
    tools = root / "tools"
    if "vpeft" in sys.modules or not (tools / "clone.py").is_file() or not (root / "methods" / "__init__.py").is_file():
        return
    # root is on the package's path after tools/, so `vpeft.methods` finds root/methods; tools/ wins every other name.
    spec = importlib.util.spec_from_file_location(
        "vpeft", tools / "__init__.py", submodule_search_locations=[str(tools), str(root)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["vpeft"] = module
    spec.loader.exec_module(module)
