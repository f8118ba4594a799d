"""The JSON run record written under --out, and its typed model (read back by `vpeft results add`)."""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import UserError

FORMAT = 1
PACKAGES = ("torch", "torchvision", "timm", "numpy", "pillow", "safetensors", "pydantic", "vpeft")


class TaskRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    accuracy: float
    model_selection: str
    looked_at_test: bool


class RunRecord(BaseModel):
    """What a run did and got; `extra` keys are allowed so later versions can add fields."""

    model_config = ConfigDict(extra="allow")

    format: int = FORMAT
    method: str = Field(description="recipe id (the catalog method)")
    implementation: str
    benchmark: str
    smoke: bool
    backbone: str
    weights: str | None
    recipe_hash: str
    resolved: dict[str, Any]
    git_commit: str | None
    packages: dict[str, str | None]
    python: str
    device: str
    seed: int
    tasks: dict[str, TaskRecord]
    trainable_parameters: int | None
    mean: float | None
    mean_of_group_means: float | None
    timings: dict[str, float]
    command: list[str]


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def git_dirty(root: Path) -> bool | None:
    """Whether the working tree had uncommitted changes (then the commit alone does not pin the code)."""
    try:
        out = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment(root: Path) -> dict[str, Any]:
    return {"git_commit": git_commit(root), "git_dirty": git_dirty(root), "packages": package_versions(),
            "python": platform.python_version()}


def write(record: dict[str, Any], path: Path) -> None:
    RunRecord.model_validate(record)  # never write a record `results add` would refuse
    from . import distributed

    if not distributed.is_main():  # torchrun: one record, from rank 0
        return
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def read(path: Path) -> RunRecord:
    if not path.is_file():
        raise UserError(f"{path}: run record not found")
    try:
        return RunRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                        "not a `vpeft reproduce` run record") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "top level"
        raise UserError(f"{path}: {where}: {err['msg']} (not a `vpeft reproduce` run record)") from None
