"""The `vpeft` command: a thin argparse front over the library (`vpeft`, in the repository `tools/` and `methods/`)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from . import __version__
from .catalog.service import DEFAULT_CATALOG
from .errors import UserError


def _command_modules() -> list[ModuleType]:
    """Every module of `tools.commands` is a subcommand, so adding one needs no edit here.

    Command modules import heavy libraries (torch) inside `run`, so that `vpeft list` stays fast.
    """
    from . import commands

    names = sorted(info.name for info in pkgutil.iter_modules(commands.__path__) if not info.name.startswith("_"))
    return [importlib.import_module(f"{commands.__name__}.{name}") for name in names]


class _Formatter(argparse.HelpFormatter):
    """Wraps prose, but keeps the line breaks of a description or epilog, and indented lines (examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n".join(indent + line if line.startswith(" ") else fill(line, width, indent)
                         for line in text.splitlines())


class _Parser(argparse.ArgumentParser):
    """argparse prints usage and exits 2 on bad options; keep that, but on one line of error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


CATALOG_HELP = "catalog folder to use (default: ./catalog)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vpeft",
        description="The visual PEFT knowledge base: catalog, reference implementations, site and tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--catalog", default=DEFAULT_CATALOG, metavar="DIR", help=CATALOG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in _command_modules():
        child = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(child)
        child.set_defaults(_run=module.run)
        _accept_catalog(child)
    return parser


def _accept_catalog(parser: argparse.ArgumentParser) -> None:
    """`--catalog DIR` after the subcommand too, at every level (`vpeft site build --catalog DIR`).

    SUPPRESS as default: a subcommand that is not given the option keeps the value parsed before it.
    """
    if not any("--catalog" in action.option_strings for action in parser._actions):
        parser.add_argument("--catalog", default=argparse.SUPPRESS, metavar="DIR", help=CATALOG_HELP)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _accept_catalog(child)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"vpeft: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vpeft: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except UnicodeDecodeError as exc:
        # Readers name the file themselves; this is the net for one that does not.
        print(f"vpeft: error: a file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start});"
              " save it as UTF-8", file=sys.stderr)
        return 1
    except OSError as exc:
        # A file the user named cannot be read or written (missing folder, a file where a folder is due,
        # no permission, disk full): one line naming it, never a traceback.
        print(f"vpeft: error: {_os_error_line(exc)}", file=sys.stderr)
        return 1


def _os_error_line(exc: OSError) -> str:
    """`PATH: reason` for an OSError, with both paths of a failed rename or copy."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    if exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {reason}"
    return f"{exc.filename}: {reason}"


if __name__ == "__main__":
    sys.exit(main())
