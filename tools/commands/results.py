"""`vpeft results add RECORD.json ... --url URL`: store reproduction run records as a catalog result table."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "results"
HELP = "result tables: `results list` prints stored rows, `results add RECORD.json --url URL` stores a run"


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
    what = "write catalog/results/ID.yaml, a table of the numbers a paper prints, every task of the benchmark to fill"
    new = sub.add_parser(
        "new", help=what, description=what + "; `vpeft validate` then names what is still empty",
        epilog="example:\n  vpeft results new --method fact --benchmark vtab-1k "
               "--url https://arxiv.org/abs/2212.03145 --table 'Table 1'",
    )
    new.add_argument("--method", required=True, metavar="ID", help="catalog id of the paper's method, e.g. fact")
    new.add_argument("--benchmark", required=True, metavar="B", help="benchmark id, e.g. vtab-1k or fgvc")
    new.add_argument("--url", required=True, help="https:// page the numbers are read on (arXiv, CVF, README)")
    new.add_argument("--table", required=True, help="the table as numbered on that page, e.g. 'Table 2'")
    new.add_argument("--id", dest="table_id", metavar="TABLE_ID",
                     help="id of the new table (default METHOD-paper-BENCHMARK)")
    what = "print every stored result row with its source, protocol, lineage and means computed from its scores"
    lst = sub.add_parser("list", help=what, description=what,
                         epilog="examples:\n  vpeft results list --benchmark vtab-1k --method vpt\n"
                                "  vpeft results list --method lora --csv > lora.csv")
    lst.add_argument("--benchmark", metavar="B", help="only this benchmark, e.g. vtab-1k")
    lst.add_argument("--method", metavar="M", help="only rows of this method and its variants, e.g. vpt")
    out = lst.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--csv", action="store_true", help="print CSV")


def _list(args: argparse.Namespace) -> int:
    import csv
    import json
    import sys

    from ..catalog.result_rows import FIELDS, records
    from ..catalog.service import valid_catalog
    from ..errors import UserError

    catalog = valid_catalog(args.catalog)
    if args.benchmark is not None and args.benchmark not in catalog.benchmarks:
        known = ", ".join(sorted(catalog.benchmarks))
        raise UserError(f"--benchmark: unknown benchmark '{args.benchmark}' (known: {known})")
    method = catalog.methods.get(args.method or "")
    if args.method is not None and method is None:
        raise UserError(f"--method: unknown method '{args.method}' (see `vpeft list`)")
    rows = records(catalog, args.benchmark, method)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(r.as_dict() for r in rows)
    else:
        def num(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        print(f"{'TABLE':<38} {'KIND':<10} {'ROW':<34} {'METHOD':<16} {'TASKS':>6} {'GROUPS':>6}  LINEAGE")
        for r in rows:
            lineage = f"copied from {r.copied_from}" if r.copied_from else ""
            print(f"{r.table:<38} {r.source_kind:<10} {r.label[:34]:<34} {r.method or '-':<16} "
                  f"{num(r.task_mean):>6} {num(r.mean_of_group_means):>6}  {lineage}")
        print(f"{len(rows)} row(s); TASKS = mean of the task scores, GROUPS = mean of the group means, both computed "
              "from the stored scores (- where a table prints no per-task scores)")
    return 0


def _new(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from ..catalog.errors_text import problems_from
    from ..catalog.result_stub import result_stub, write_stub
    from ..catalog.service import valid_catalog
    from ..errors import UserError

    catalog = valid_catalog(args.catalog)
    try:
        table = result_stub(catalog, args.method, args.benchmark, args.url, args.table, args.table_id)
    except ValidationError as err:  # a bad --url or --id: the model's own rule, as one line naming the option
        problem = problems_from(err, "vpeft results new")[0]
        option = {"url": "--url", "source.url": "--url", "id": "--id"}.get(problem.field, problem.field)
        raise UserError(f"{option}: {problem.message}") from None
    path = write_stub(catalog, table)
    print(f"wrote {path}: one row '{table.rows[0].label}' with {len(table.rows[0].scores)} task(s) to fill; "
          "add a row per setting and baseline the table prints, then run `vpeft validate`")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list(args)
    if args.action == "new":
        return _new(args)
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
