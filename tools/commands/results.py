"""`vpeft results add RECORD.json ... --url URL`: store reproduction run records as a catalog result table."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "results"
HELP = "manage result tables: `results add RECORD.json --url URL` stores a reproduction run"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    what = "turn run records (shards of one run) into catalog/results/reproduced/ID.yaml"
    add = sub.add_parser(
        "add", help=what, description=what + "; an existing table is never overwritten",
        epilog="example:\n  vpeft results add runs/lora/record.json --url https://example.org/runs/lora/record.json",
    )
    add.add_argument("records", nargs="+", type=Path, metavar="RECORD.json",
                     help="record.json written by `vpeft reproduce --out DIR` (one per shard)")
    add.add_argument("--url", required=True, help="https:// link where the record(s) can be read")


def run(args: argparse.Namespace) -> int:
    from ..catalog.service import valid_catalog
    from ..repro.record import read
    from ..repro.results_table import table_from, write_table

    catalog = valid_catalog(args.catalog)
    records = [(path, read(path)) for path in args.records]
    table = table_from(catalog, records, args.url)
    path = write_table(Path(args.catalog), table)
    row = table.rows[0]
    print(f"wrote {path}: {row.label}, {len(row.scores)} task(s), source reproduced ({args.url})")
    return 0
