"""Reading the files of a run folder that an earlier (maybe interrupted or tampered) run left: each read either
succeeds or stops the run with one line naming the file, never a traceback, and never runs code from a file.

`torch.load` is always called with `weights_only=True`: the resume state holds only dicts, lists, numbers, strings
and tensors (the optimizer state), which that mode accepts, and a pickle that names any other global is refused
instead of executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import methods
from ..errors import UserError
from .errors import read_state

STATE_KEYS = ("epoch", "log", "best", "train_seconds", "images", "optimizer")


class RunFileError(UserError):
    """A damaged file in the run folder; the message says which file to delete to redo that step."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(f"{path}: damaged run file ({what}); delete it and re-run to redo that step")


def reason(exc: BaseException) -> str:
    """One short line for a load failure; torch's weights-only refusal (whose text suggests turning the safe mode
    off, which we never do) becomes what it means here."""
    if "Weights only load failed" in str(exc):
        return "it holds Python objects other than tensors and plain data; refused, nothing in it was run"
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def load_state(path: Path) -> dict[str, Any]:
    """The resume state `last.state.pt` (epoch, log, best, optimizer state)."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or hostile pickle: all mean "not ours"
        raise RunFileError(path, f"not a resume state: {reason(exc)}") from None
    if not isinstance(saved, dict) or any(key not in saved for key in STATE_KEYS):
        raise RunFileError(path, f"not a resume state: expected the keys {', '.join(STATE_KEYS)}")
    if not isinstance(saved["epoch"], int) or not isinstance(saved["log"], list):
        raise RunFileError(path, "not a resume state: epoch or log has the wrong type")
    return saved


def load_trained(model: nn.Module, path: Path) -> nn.Module:
    """Method weights saved by `methods.save_trained` (`last.safetensors`, `best.safetensors`)."""
    if not path.is_file():
        raise RunFileError(path, "missing next to its resume state")
    try:
        return methods.load_trained(model, path)
    except Exception as exc:  # safetensors header errors, wrong tensors, wrong method: all "not this run's file"
        raise RunFileError(path, f"not this run's method weights: {reason(exc)}") from None


def load_optimizer(opt: torch.optim.Optimizer, state: dict[str, Any], path: Path) -> None:
    try:
        opt.load_state_dict(state["optimizer"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise RunFileError(path, f"optimizer state does not fit: {reason(exc)}") from None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_done(path: Path) -> dict[str, Any]:
    """A finished phase's summary (`done.json`), with the fields later steps read."""
    data = read_state(path)
    last = data.get("last")
    if not isinstance(data.get("log"), list) or not isinstance(last, dict) or "best" not in data:
        raise RunFileError(path, "not a phase summary: log, last or best is missing")
    if not all(_number(v) for k, v in last.items() if k.endswith("_accuracy")):
        raise RunFileError(path, "not a phase summary: an accuracy is not a number")
    best = data["best"]
    if best is not None and not (isinstance(best, dict) and _number(best.get("accuracy"))):
        raise RunFileError(path, "not a phase summary: best has no numeric accuracy")
    return data


def read_result(path: Path) -> dict[str, Any]:
    """A finished task's result (`result.json`)."""
    data = read_state(path)
    if not _number(data.get("accuracy")):
        raise RunFileError(path, "not a task result: accuracy is not a number")
    if not isinstance(data.get("model_selection"), str) or not isinstance(data.get("looked_at_test"), bool):
        raise RunFileError(path, "not a task result: model_selection or looked_at_test is missing")
    phases = data.get("phases")
    if not isinstance(phases, list) or not phases or not all(
            isinstance(p, dict) and isinstance(p.get("trainable_parameters"), int) for p in phases):
        raise RunFileError(path, "not a task result: phases are missing")
    return data
