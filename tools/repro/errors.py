"""Errors of the reproduce pipeline, printed by the CLI as one line with exit 2."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import UserError

DOCS = "site/reproduce.md"


class DataError(UserError):
    """The data folder is missing or does not match the benchmark; the message says what, where and the docs."""

    def __init__(self, message: str, anchor: str = "prepare-vtab-1k") -> None:
        super().__init__(f"{message} (see {DOCS}#{anchor})")


def read_state(path: Path) -> dict[str, Any]:
    """A JSON file of a run folder (written by an earlier, maybe interrupted, run); a damaged one is one line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        raise UserError(f"{path}: damaged run file (not a JSON object); delete it and re-run to redo that step")
    return data


def write_state(path: Path, data: dict[str, Any]) -> None:
    """Write a run-folder JSON file whole or not at all: an interrupt mid-write leaves the old file (or none),
    never half a file that the resumed run would trip on. Under torchrun only rank 0 writes."""
    from . import distributed

    if not distributed.is_main():
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
