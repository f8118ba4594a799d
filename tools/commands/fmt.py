"""`vpeft fmt [FILE ...]`: write method entries in the catalog's canonical form (the form `vpeft new` writes).

The canonical form is what the model dumps: keys in model order, block style, long prose folded at 110 columns.
Formatting goes through the typed model, so every value is kept; a file that does not validate is left alone
(its problem is printed), and so is a file with comments other than the schema line, which a dump would drop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from ..catalog.errors_text import problems_from
from ..catalog.models import MethodEntry
from ..catalog.schema import METHOD_HEADER
from ..catalog.stub import entry_text
from ..catalog.yamlio import YamlFileError, read_yaml
from ..errors import UserError

NAME = "fmt"
HELP = "rewrite method entries in canonical form (all of catalog/methods/, or the FILEs named); --check only lists"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "examples:\n  vpeft fmt catalog/methods/my-adapter.yaml\n  vpeft fmt --check"
    parser.add_argument("files", nargs="*", metavar="FILE", help="method entries (default: every catalog entry)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; list the files not in canonical form and exit 1 if any")


def comment_lines(text: str) -> list[int]:
    """Line numbers of comments a dump would lose (the schema line is written back by the dump)."""
    return [n for n, line in enumerate(text.splitlines(), 1)
            if line.lstrip().startswith("#") and line.strip() != METHOD_HEADER]


def canonical(path: Path) -> tuple[str, str]:
    """(current text, canonical text) of one entry, or a UserError naming the file and what stops formatting."""
    text = path.read_text(encoding="utf-8")
    try:
        data = read_yaml(path, str(path))
    except YamlFileError as exc:
        raise UserError(str(exc.problem)) from None
    if isinstance(data, dict) and "rows" in data and "benchmark" in data:
        raise UserError(f"{path}: a result table; `vpeft fmt` formats method entries (catalog/methods/*.yaml) only")
    try:
        entry = MethodEntry.model_validate(data)
    except ValidationError as exc:
        raise UserError("\n".join(str(p) for p in problems_from(exc, str(path), text))) from None
    if lines := comment_lines(text):
        raise UserError(f"{path}: line {lines[0]}: a comment, which formatting would drop; move it into `notes` "
                        "(or remove it), then run `vpeft fmt` again")
    return text, entry_text(entry)


def run(args: argparse.Namespace) -> int:
    paths = [Path(f) for f in args.files] or sorted((Path(args.catalog) / "methods").glob("*.yaml"))
    if not paths:
        raise UserError(f"{Path(args.catalog) / 'methods'}: no entries to format")
    changed, failed = [], 0
    for path in paths:
        try:
            text, formatted = canonical(path)
        except UserError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        if text != formatted:
            changed.append(path)
            if not args.check:
                path.write_text(formatted, encoding="utf-8")
    verb = "not in canonical form" if args.check else "reformatted"
    for path in changed:
        print(f"{path}: {verb}" + (" (run `vpeft fmt` on it)" if args.check else ""))
    print(f"{len(changed)} file(s) {verb}, {len(paths) - len(changed) - failed} unchanged, {failed} not formatted",
          file=sys.stderr)
    return 1 if failed or (args.check and changed) else 0
