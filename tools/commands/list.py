"""`vpeft list`: print the catalog, optionally one category (a leaf or a whole branch)."""

from __future__ import annotations

import argparse
import json

from ..catalog.models import Catalog, MethodEntry
from ..catalog.service import valid_catalog
from ..errors import UserError

NAME = "list"
HELP = "list catalog methods (filter with --category, machine-readable with --json)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--category", metavar="NODE", help="a taxonomy node id, e.g. adapter-tuning or partial-based")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def select(catalog: Catalog, category: str | None) -> list[MethodEntry]:
    if category is None:
        return sorted(catalog.methods.values(), key=lambda m: m.id)
    assert catalog.taxonomy is not None
    if catalog.taxonomy.node(category) is None:
        known = ", ".join(n.id for n, _ in catalog.taxonomy.walk())
        raise UserError(f"--category: unknown node '{category}' (known: {known})")
    return sorted(catalog.methods_in(category), key=lambda m: m.id)


def _venue(entry: MethodEntry) -> str:
    return " ".join(str(x) for x in (entry.paper.venue, entry.paper.year) if x) or "?"


def run(args: argparse.Namespace) -> int:
    entries = select(valid_catalog(args.catalog), args.category)
    if args.json:
        print(json.dumps([e.model_dump(mode="json") for e in entries], indent=2, ensure_ascii=False))
        return 0
    width = max((len(e.id) for e in entries), default=2)
    cat_width = max((len(e.category) for e in entries), default=8)
    for e in entries:
        print(f"{e.id:<{width}}  {e.category:<{cat_width}}  {_venue(e):<14}  {e.name}")
    print(f"{len(entries)} method(s)")
    return 0
