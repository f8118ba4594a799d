"""Parsing of repeatable `--set KEY=VALUE` options, shared by the commands that take them."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from .errors import UserError

# YAML 1.1 (PyYAML) reads "1e-3" as a string: it wants a dot and a signed exponent. Learning rates are written so.
_EXPONENT_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _scalar(value: Any) -> Any:
    if isinstance(value, str) and _EXPONENT_FLOAT.match(value.strip()):
        return float(value)
    if isinstance(value, list):
        return [_scalar(v) for v in value]
    return value


def parse_key_values(items: Iterable[str], *, allow_lists: bool = False) -> dict[str, Any]:
    """`["r=8", "lr=1e-3"]` -> `{"r": 8, "lr": 0.001}`; each value is read as YAML (a scalar, or a list too).

    Every malformed item is a `UserError` naming the option, so the CLI prints one line.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set: expected KEY=VALUE, got {item!r}")
        if key in out:
            raise UserError(f"--set: option {key!r} given twice")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UserError(f"--set {key}: {raw!r} is not a valid YAML value") from None
        if isinstance(value, dict) or (isinstance(value, list) and not allow_lists):
            kind = "a scalar or a list" if allow_lists else "a single scalar"
            raise UserError(f"--set {key}: the value must be {kind}, got {raw!r}")
        out[key] = _scalar(value)
    return out


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type`: an integer in [low, high], else argparse's one-line error naming the option."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def non_negative_float(text: str) -> float:
    """An argparse `type`: a finite number >= 0 (rejects nan, inf and negatives, which make comparisons lie)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value
