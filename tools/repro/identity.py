"""The identity of a run folder: what must be the same for an earlier run's results to count as this run's.

method, implementation and every resolved setting (through the recipe hash), benchmark, seed, the backbone weights
(file sha256, or the timm name when timm fetches them) and the data (root folder and the sha256 of each task's split
files). `run.json` stores it; a command that differs in any of them is refused with one line naming the first
difference, so results of another configuration are never mixed in or reported under a new label.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..errors import UserError
from .errors import read_state, write_state
from .layout import TaskData

FIELDS = ("method", "implementation", "benchmark", "recipe_hash", "seed", "weights_sha256", "data_root")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make(method: str, implementation: str, benchmark: str, recipe_hash: str, seed: int, weights: Path | None,
         data: dict[str, TaskData]) -> dict[str, Any]:
    root = next(iter(data.values())).folder.parent.resolve() if data else None
    return {
        "method": method, "implementation": implementation, "benchmark": benchmark, "recipe_hash": recipe_hash,
        "seed": seed,
        "weights_sha256": file_sha256(weights) if weights is not None and weights.is_file() else None,
        "data_root": str(root) if root else None,
        "data_splits_sha256": {t: d.fingerprint for t, d in data.items()},
        "data_folders": {t: str(d.folder.resolve()) for t, d in data.items()},
    }


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 else text


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    for name in FIELDS:
        if old.get(name) != new.get(name):
            return f"another {name.replace('_', ' ')} ({_short(old.get(name))}; this command: {_short(new[name])})"
    splits_old = old.get("data_splits_sha256") or {}
    for task, digest in new["data_splits_sha256"].items():
        if task in splits_old and splits_old[task] != digest:
            return f"other split files for {task} (sha256 {_short(splits_old[task])}; now {_short(digest)})"
    return None


def claim(out: Path, identity: dict[str, Any], resolved: dict[str, Any]) -> None:
    """Start a run folder, or resume one holding the same run; anything else is refused."""
    out.mkdir(parents=True, exist_ok=True)
    meta = out / "run.json"
    if not meta.is_file():
        write_state(meta, {"identity": identity, "recipe_hash": identity["recipe_hash"], "resolved": resolved})
        return
    state = read_state(meta)
    old = state.get("identity")
    if not isinstance(old, dict):
        raise UserError(f"--out {out}: holds a run without a recorded identity (from an older vpeft, recipe hash "
                        f"{_short(state.get('recipe_hash'))}); use another --out folder")
    diff = _difference(old, identity)
    if diff is not None:
        raise UserError(f"--out {out}: holds a run with {diff}; use another --out folder")
    known = old.get("data_splits_sha256") or {}
    if set(identity["data_splits_sha256"]) - set(known):  # a shard adds the tasks it checked
        old["data_splits_sha256"] = {**known, **identity["data_splits_sha256"]}
        old["data_folders"] = {**(old.get("data_folders") or {}), **identity["data_folders"]}
        write_state(meta, {**state, "identity": old})
