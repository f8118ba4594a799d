"""Parsing of repeatable `--set KEY=VALUE` options, shared by the commands that take them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

from tools.errors import UserError

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
