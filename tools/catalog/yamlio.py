"""Reading YAML files strictly (UTF-8, no duplicate keys) and writing catalog entries in one canonical form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .problems import Problem


class _PyStrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys instead of silently keeping the last one."""


# libyaml's C parser where PyYAML was built with it: the catalog's ~500 files parse several times faster, which is
# most of a site build; the constructors (safe types, the duplicate-key check below) stay the Python ones. A file
# that fails is parsed again by the pure-Python loader, so a message reads the same on every install.
class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same rules, parsed by libyaml when available."""


def _mapping_no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


for _loader in (_PyStrictLoader, _StrictLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates)


class YamlFileError(Exception):
    """A file that cannot be read as YAML; carries its one-line problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_yaml(path: Path, shown: str) -> Any:
    """Parse one file. `shown` is the path as the user should see it in messages."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlFileError(Problem(shown, "", f"cannot read file: {exc.strerror}")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(
            Problem(shown, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8")
        ) from None
    if not text.strip() or all(line.lstrip().startswith("#") or not line.strip() for line in text.splitlines()):
        raise YamlFileError(Problem(shown, "", "file is empty"))
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        pass
    try:
        return yaml.load(text, Loader=_PyStrictLoader)  # noqa: S506 - the same file again, for its message
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        reason = exc.problem or exc.context or "unreadable"
        raise YamlFileError(Problem(shown, where, f"invalid YAML: {reason}")) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(Problem(shown, "", f"invalid YAML: {exc}")) from None


class _CanonicalDumper(yaml.SafeDumper):
    """Block style, keys in model order, long strings folded, lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: ARG002
        super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # fold long prose so diffs stay readable; URLs and other unbroken strings stay on one line
    style = ">" if len(value) > 100 and " " in value and "\n" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CanonicalDumper.add_representer(str, _str_representer)


def dump_yaml(data: Any, header: str = "") -> str:
    body = yaml.dump(data, Dumper=_CanonicalDumper, sort_keys=False, allow_unicode=True, width=110)
    return f"{header}\n{body}" if header else body
