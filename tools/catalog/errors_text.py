"""Turn pydantic validation errors into short, user-facing one-line messages."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from .problems import Problem

_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    "string_type": "must be a text string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "string_too_short": "must not be empty",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """('paper', 'authors', 0) -> 'paper.authors[0]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith("function-") and part not in {"str", "int", "float", "none"}:
            # union branches ("str", "function-after[...]") are pydantic internals, not fields
            out += f".{part}" if out else part
    return out


def raw_scalar(source: str, loc: tuple[int | str, ...]) -> str | None:
    """The text of the scalar at `loc` as written in the YAML source (YAML reads 2402.09350 as 2402.0935)."""
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        elif not isinstance(part, int):  # pydantic's union branch names are not YAML keys
            continue
        else:
            return None
        if node is None:
            return None
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _message(error: dict[str, Any], source: str | None = None) -> str:
    kind = error["type"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "string_pattern_mismatch":
        return "must be lowercase letters and digits joined by '-' (like 'lora' or 'vpt-deep')"
    if kind == "literal_error":
        return f"must be one of {error['ctx']['expected']}"
    if kind == "greater_than_equal":
        return f"must be at least {error['ctx']['ge']}"
    if kind == "greater_than":  # "at least 0" would invite the 0 that is refused
        return f"must be greater than {error['ctx']['gt']}"
    message = _MESSAGES.get(kind, error["msg"][:1].lower() + error["msg"][1:])
    if kind == "string_type" and isinstance(error.get("input"), (int, float)):
        written = (raw_scalar(source, error["loc"]) if source else None) or str(error["input"])
        message += f" (quote it: '{written}')"
    return message


def problems_from(exc: ValidationError, file: str, source: str | None = None) -> list[Problem]:
    """One problem per field; `source` (the YAML text) lets hints quote values exactly as written."""
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for error in exc.errors():
        key = (field_path(error["loc"]), _message(error, source))
        if key not in seen:  # unions report one error per branch; one line per field is enough
            seen.add(key)
            out.append(Problem(file, *key))
    return out
