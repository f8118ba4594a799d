"""Every table of the site as CSV and JSON, made at build time from the same view objects the pages render.

A table is exported as its page shows it, one column per page column: text columns as the page's text, number
columns as the number behind the cell (its full-precision sort value, not the rounded text) and empty when the page
shows none. Parameter counts are in millions. JSON carries the same rows as objects keyed by column name; in CSV a
text that a spreadsheet would read as a formula starts with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

from .boards import MethodBoard
from .links import relative
from .views import Board, Cell, Link, MethodResult, MethodRow

DOWNLOADS = "downloads"

Value = str | float | None


@dataclass(frozen=True)
class Table:
    """One exported table: its file stem (docs-relative, without extension), a title and its rows."""

    stem: str
    title: str
    columns: list[str]
    rows: list[list[Value]]


def number(cell: Cell) -> float | None:
    return float(cell.sort) if cell.sort else None


def link_text(link: Link | None) -> str:
    return link.text if link else ""


def link_href(link: Link | None) -> str:
    """The address of an outside link; internal links are relative to their page, so they are left out."""
    return link.href if link and link.href and link.href.startswith(("http://", "https://")) else ""


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    # Text from entries is untrusted: a spreadsheet would run a cell starting like a formula, so such text gets a
    # leading apostrophe (the usual guard; the JSON keeps the text as it is).
    return "'" + value if value.startswith(FORMULA_START) else value


def slug(text: str, most: int = 40) -> str:
    """A short file name part from free text (a backbone name): lower-case letters, digits and dashes. Text from
    entries may be long; file names have a length limit, so the part is cut (the caller keeps it unique)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:most].strip("-") or "table"


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_value(v) for v in row])
    return out.getvalue()


def to_json(table: Table) -> str:
    body = {"title": table.title, "columns": table.columns,
            "rows": [dict(zip(table.columns, row, strict=True)) for row in table.rows]}
    return json.dumps(body, ensure_ascii=False, indent=1) + "\n"


def files(table: Table) -> dict[str, str]:
    return {f"{table.stem}.csv": to_csv(table), f"{table.stem}.json": to_json(table)}


def links(table: Table, here: str) -> list[Link]:
    return [Link("CSV", relative(here, f"{table.stem}.csv")), Link("JSON", relative(here, f"{table.stem}.json"))]


# ---------------------------------------------------------------- the tables of the site


def methods_table(rows: list[MethodRow], stem: str, title: str) -> Table:
    """The methods table; with the methods page's numbers (best VTAB-1k mean, parameters counted and published)
    when its rows carry them, in the page's column order."""
    with_stats = any(r.stats is not None for r in rows)
    stats = ["Best VTAB-1k mean", "Best VTAB-1k mean: source", "Params counted (M)", "Params published (M)"]
    columns = ["Method", "id", *(stats if with_stats else []), "Category", "Venue", "Year", "Applications", "Code",
               "Implementation"]

    def numbers(r: MethodRow) -> list[Value]:
        if not with_stats:
            return []
        if r.stats is None:
            return [None, "", None, None]
        return [number(r.stats.score), r.stats.score_source, number(r.stats.counted), number(r.stats.published)]

    return Table(stem, title, columns, [
        [r.link.text, r.id, *numbers(r), r.category.text, r.venue, number(r.year), "; ".join(r.applications),
         link_href(r.code), r.implementation or ""] for r in rows])


def board_table(board: Board, stem: str, title: str) -> Table:
    """A per-task table of one source, as the leaderboard page shows it."""
    columns = ["Method", "Kind", "Params (M)", *(c.label for c in board.columns), "Lineage", "Source",
               "Source URL"]
    return Table(stem, title, columns, [
        [r.label.text, r.kind, number(r.params), *(number(c) for c in r.cells), r.lineage, r.source.text,
         link_href(r.source)] for r in board.rows])


def method_board_table(board: MethodBoard, stem: str, title: str) -> Table:
    """A per-method board: rank, method, kind, parameters, then per source column its number, where it comes from,
    its model selection and (for all but the paper-reported column) the difference Δ to the paper-reported one."""
    columns = ["Rank", "Method", "Kind", "Params (M)"]
    for col in board.columns:
        columns += [col.title, f"{col.title}: source", f"{col.title}: row", f"{col.title}: selection"]
        if col.kind != "paper":
            columns.append(f"{col.title}: Δ")
    rows: list[list[Value]] = []
    for ln in board.lines:
        row: list[Value] = [number(ln.rank), ln.name.text, ln.kind, number(ln.params)]
        for col, c in zip(board.columns, ln.cells, strict=True):
            row += ([number(c.value), c.source.text, c.row_label, c.selection] if c else [None, "", "", ""])
            if col.kind != "paper":
                row.append(number(c.diff) if c else None)
        rows.append(row)
    return Table(stem, title, columns, rows)


def results_table(results: list[MethodResult], stem: str, title: str) -> Table:
    columns = ["Benchmark", "Backbone", "Method", "Row", "Setting", "Result", "Params (M)", "Source", "Source URL",
               "Source kind", "Protocol", "Lineage"]
    return Table(stem, title, columns, [
        [r.benchmark.text, r.backbone, r.method.text, r.label, r.setting or "", r.summary, number(r.params),
         r.source.text, link_href(r.source), r.source_kind, r.protocol, r.lineage] for r in results])
