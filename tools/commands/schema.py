"""`vpeft schema`: write (or check) the JSON Schemas that editors use to check catalog entries."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..catalog.loader import load_catalog
from ..catalog.schema import schema_files
from ..errors import UserError

NAME = "schema"
HELP = "write the catalog's JSON Schemas to CATALOG/schema/ (--check: fail if they are stale)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="exit 1 if a schema file is missing or stale")


def run(args: argparse.Namespace) -> int:
    if not Path(args.catalog).is_dir():
        # A mistyped --catalog must not become a new folder holding only schemas.
        raise UserError(f"{args.catalog}: catalog folder not found (use --catalog DIR)")
    stale = 0
    catalog, _ = load_catalog(args.catalog)  # a broken entry must not stop its editor's schema from being written
    for path, text in schema_files(catalog).items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if args.check:
            print(f"{path}: stale; run `vpeft schema`", file=sys.stderr)
            stale += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 1 if stale else 0
