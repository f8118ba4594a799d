"""`vpeft new ID`: write a valid stub entry for a new method, ready to fill in."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from tools.catalog.errors_text import problems_from
from tools.catalog.service import valid_catalog
from tools.catalog.stub import stub, write_new
from tools.errors import UserError

NAME = "new"
HELP = "create catalog/methods/ID.yaml, a stub entry to fill in"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="the new method's id: lowercase words joined by '-', e.g. my-adapter")
    parser.add_argument("--category", required=True, help="a leaf of the taxonomy, e.g. adapter-tuning")
    parser.add_argument("--arxiv", help="the paper's arXiv id, e.g. 2205.13535")
    parser.add_argument("--name", help="display name (default: the id)")


def run(args: argparse.Namespace) -> int:
    catalog = valid_catalog(args.catalog)
    assert catalog.taxonomy is not None
    leaves = sorted(leaf.id for leaf in catalog.taxonomy.leaves())
    if args.category not in leaves:
        choose = ", ".join(leaves)
        raise UserError(f"--category: '{args.category}' is not a leaf of the taxonomy (choose one of: {choose})")
    try:
        entry = stub(args.id, args.category, args.arxiv, args.name)
    except ValidationError as exc:
        first = problems_from(exc, "new entry")[0]
        options = {"id": "ID", "arxiv": "--arxiv", "paper.arxiv": "--arxiv", "name": "--name"}
        option = options.get(first.field, first.field)
        raise UserError(f"{option}: {first.message}") from None
    path = write_new(catalog, entry)
    print(f"wrote {path}: fill in paper, summary, tags and sources, then run `vpeft validate --strict`")
    return 0
