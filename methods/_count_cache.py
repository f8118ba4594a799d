"""Parameter counts cached on disk, so that no count is made twice (counting a method builds a backbone).

The site reads its counts from the registry snapshot (`_snapshot`, in the same folder), which counts through this
cache whenever it is recomputed (e.g. the snapshot file was lost, or is wanted for another backbone).

A count depends on the method's code and config, the backbone and the timm/torch versions (and, for a method
whose layers come from another package such as peft's tuners, that package's version): the cache key holds
all of them (the code as a digest of this package's source files), so any change recounts. The file lives in
$VPEFT_CACHE_DIR, else $XDG_CACHE_HOME/vpeft, else ~/.cache/vpeft; a damaged or unwritable cache is ignored
(counting is always the fallback, never an error).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

CACHE_FILE = "param-counts.json"


def cache_dir() -> Path:
    if env := os.environ.get("VPEFT_CACHE_DIR"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vpeft"


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of every source file of the methods package: editing a method invalidates its cached counts."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def installed_version(distribution: str) -> str:
    """The installed version of a distribution, or "not installed" (read from metadata, without importing it)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cache_key(method_id: str, model_name: str, config: dict[str, Any]) -> str:
    import timm
    import torch

    from .registry import get

    requires = [f"{d} {installed_version(d)}" for d in get(method_id).cls.requires]  # peft's version for bridged tuners
    parts = [method_id, model_name, json.dumps(config, sort_keys=True, default=str), timm.__version__,
             torch.__version__, code_digest(), *requires]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _read(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as JSON, atomically; a folder that cannot be written is no error (the cache is then unused)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        tmp.replace(path)  # atomic: two builds at once never leave half a file
    except OSError:
        pass


def trainable_excluding_head(method_ids: list[str], model_name: str) -> dict[str, int]:
    """Trainable parameters (head excluded) of each method with its default config, counted once per key."""
    from .api import make_config
    from .counting import parameter_counts

    path = cache_dir() / CACHE_FILE
    cached = _read(path)
    out: dict[str, int] = {}
    for method_id in method_ids:
        key = cache_key(method_id, model_name, make_config(method_id).model_dump(mode="json"))
        if key not in cached:
            cached[key] = parameter_counts(method_id, model_name).trainable_excluding_head
        out[method_id] = cached[key]
    if any(k not in _read(path) for k in cached):
        write_json(path, cached)
    return out
