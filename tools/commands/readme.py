"""`vpeft readme`: write the Awesome-list README.md from the catalog, or check that the committed one is current."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..catalog.service import valid_catalog
from ..errors import UserError
from ..readme.render import render_readme

NAME = "readme"
HELP = "write README.md (the Awesome list) from the catalog (--check: exit 1 if it is stale)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="file to write or check (default: README.md next to the catalog folder)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file differs")
    parser.add_argument("--force", action="store_true",
                        help="overwrite FILE even if `vpeft readme` did not write it")
    parser.epilog = "example (in CI: fails when README.md is stale):\n  vpeft readme --check"


def default_path(catalog: str) -> Path:
    return Path(catalog).resolve().parent / "README.md"


def run(args: argparse.Namespace) -> int:
    path = Path(args.output) if args.output else default_path(args.catalog)
    text = render_readme(valid_catalog(args.catalog))
    if path.is_dir():
        raise UserError(f"-o: {path} is a folder; name a file")
    try:
        current = path.read_text(encoding="utf-8") if path.exists() else None
    except UnicodeDecodeError:
        current = ""  # not UTF-8, so not ours: stale for --check, and protected below
    except OSError as exc:
        raise UserError(f"-o: cannot read {path} ({exc.strerror or exc.__class__.__name__})") from None
    if args.check:
        if current == text:
            return 0
        state = "missing" if current is None else "stale"
        print(f"{path}: {state}; run `vpeft readme` and commit the result", file=sys.stderr)
        return 1
    if current == text:
        print(f"{path}: up to date")
        return 0
    if current is not None and not current.startswith(text.split("\n", 1)[0]) and not args.force:
        # The file exists but `vpeft readme` did not write it (no generated-by line): it is someone's work.
        raise UserError(f"-o: {path} exists and was not written by `vpeft readme` (use --force to overwrite it)")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"-o: cannot write {path} ({exc.strerror or exc.__class__.__name__})") from None
    print(f"wrote {path}")
    return 0
