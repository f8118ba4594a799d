"""`vpeft readme`: write the Awesome-list README.md from the catalog, or check that the committed one is current."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.catalog.service import valid_catalog
from tools.errors import UserError
from tools.readme.render import render_readme

NAME = "readme"
HELP = "write README.md (the Awesome list) from the catalog (--check: exit 1 if it is stale)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="file to write or check (default: README.md next to the catalog folder)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file differs")


def default_path(catalog: str) -> Path:
    return Path(catalog).resolve().parent / "README.md"


def run(args: argparse.Namespace) -> int:
    path = Path(args.output) if args.output else default_path(args.catalog)
    text = render_readme(valid_catalog(args.catalog))
    try:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    if args.check:
        if current == text:
            return 0
        state = "missing" if current is None else "stale"
        print(f"{path}: {state}; run `vpeft readme` and commit the result", file=sys.stderr)
        return 1
    if current == text:
        print(f"{path}: up to date")
        return 0
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"-o: cannot write {path} ({exc.strerror or exc.__class__.__name__})") from None
    print(f"wrote {path}")
    return 0
