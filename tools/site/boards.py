"""Per-method leaderboards: one line per method and backbone, the paper-reported number beside each benchmark's
and each reproduction's, with lineage deciding what counts as an independent number.

Rules (stated on the page too):
- one *headline mean* per row, computed by code: the mean of the group means where the benchmark has groups (it can
  be computed for tables that print only group means), else the mean over the tasks; a printed mean is used only
  when neither can be computed, and is marked so; a single-task benchmark shows its task's score, and a benchmark
  whose tasks are not averaged (COCO's box and mask AP) shows its first task's;
- lines are ranked by the column holding the most numbers (paper-reported on a tie), equal numbers sharing a place;
- the paper-reported number of a method is a row of its own paper when the catalog holds one (the best of its
  settings, as papers headline it), else the earliest row of its lineage group (the original, not a copy);
- a number copied from another table is shown once, with the tables that repeat it, and gets no difference: a copy is
  never independent confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..catalog.derived import aggregates
from ..catalog.lineage import RowRef, lineage_groups
from ..catalog.models import Benchmark, Catalog, ResultRow, ResultTable
from ..catalog.names import clean_label
from ..catalog.result_checks import recompute
from .links import relative, safe_url
from .views import (
    Cell,
    Link,
    fmt,
    fmt_params,
    leaderboard_page,
    mark_columns,
    method_page,
    short_source,
    short_source_name,
)

BASELINES = {"full-fine-tuning": "Full fine-tuning", "linear-probing": "Linear probing", "partial-1": "Partial-1",
             "mlp-3": "MLP-3", "frozen-backbone": "Frozen backbone"}
KIND_ORDER = {"paper": 0, "benchmark": 1, "reproduced": 2}


@dataclass(frozen=True)
class Headline:
    value: float | None
    printed: bool  # True when only the printed mean was available


def headline(table: ResultTable, row: ResultRow, bench: Benchmark) -> Headline:
    """The number a leaderboard line shows for a row (see the module docstring)."""
    if len(bench.tasks) == 1 or not bench.averaged:
        return Headline(row.scores.get(bench.tasks[0].id) if bench.tasks else None, False)
    comp = recompute(row, bench, 1)
    if comp is not None:
        value = comp.mean_of_group_means if bench.groups else comp.task_mean
        if value is not None:
            return Headline(value, False)
    if not bench.groups and bench.averaged:
        agg = aggregates(row, bench)
        if agg.task_mean is not None:
            return Headline(agg.task_mean, False)
    return Headline(row.published.mean, row.published.mean is not None)


def headline_label(bench: Benchmark) -> str:
    if bench.groups:
        return f"average of the {len(bench.groups)} group means"
    if len(bench.tasks) == 1:
        return bench.tasks[0].metric
    if not bench.averaged:  # no average is meaningful (COCO's box and mask AP): the first task stands for the row
        return f"{bench.tasks[0].metric} (the benchmark is not averaged; other tasks in the per-task tables)"
    return f"average over {len(bench.tasks)} tasks"


def headline_axis(bench: Benchmark) -> str:
    """The y axis title of a board's plot: the metric itself on single-task and unaveraged boards."""
    if len(bench.tasks) == 1 or not bench.averaged:
        return bench.tasks[0].metric
    return f"{headline_label(bench)} (%)"


def line_key(row: ResultRow) -> str:
    if row.method is not None:
        return f"method:{row.method}"
    if row.baseline is not None:
        return f"baseline:{row.baseline}"
    return f"label:{clean_label(row.label)}"


@dataclass(frozen=True)
class Entry:
    """One row of one table, as a leaderboard line uses it."""

    ref: RowRef
    table: ResultTable
    row: ResultRow
    head: Headline


@dataclass(frozen=True)
class SourceCell:
    """One source's number on a line: its value, where it comes from, its protocol, and its relation to the paper
    number (a copy of it, or an independent measurement with a difference)."""

    kind: str  # paper | benchmark | reproduced
    value: Cell
    params: Cell
    source: Link
    row_label: str
    setting: str | None
    selection: str  # the row's model selection, "unknown" when not stated: the page's filter reads it
    checkpoint: str
    copy_of: str | None  # "copy of <table> row '<label>'" when the number is not independent
    diff: Cell  # this value minus the paper-reported one; empty for copies and for the paper cell itself
    repeated_in: list[Link]  # other tables printing the same numbers (the paper cell lists them)
    read_in: str | None = None  # where the digits were read when not on the source page
    source_short: str = ""  # what the cell shows of `source`: its short name and table (the full text on hover)


@dataclass(frozen=True)
class Line:
    key: str
    name: Link
    kind: str
    params: Cell
    cells: list[SourceCell | None]  # in the order of Board.columns
    rank: Cell = Cell("")  # place by the board's ranking column; equal numbers share a place
    method: str | None = None  # the catalog id of a method's line (the compare choice uses it)


@dataclass(frozen=True)
class Column:
    kind: str
    title: str
    table: str | None  # the table of a benchmark column; None for the paper and reproduced columns
    full: str = ""  # the source's whole name, shown on hover over a shortened title


@dataclass(frozen=True)
class MethodBoard:
    backbone: str
    anchor: str
    mean_label: str
    columns: list[Column]
    lines: list[Line]
    rank_by: int = 0  # the column the rank follows: the one with the most numbers, paper-reported on a tie
    plots: list[Plot] = field(default_factory=list)  # filled by the renderer: paper-reported first
    wanted: list[Link] = field(default_factory=list)  # its methods without a paper-reported number, by name
    files: list[Link] = field(default_factory=list)  # its CSV and JSON downloads, filled by the renderer


@dataclass(frozen=True)
class Plot:
    title: str
    svg: str
    caption: str


def entries(catalog: Catalog, bench: Benchmark, backbone: str) -> list[Entry]:
    out = []
    for table_id in sorted(catalog.results):
        table = catalog.results[table_id]
        if table.benchmark != bench.id or table.backbone != backbone:
            continue
        for i, row in enumerate(table.rows):
            out.append(Entry(RowRef(table.id, i, row.label), table, row, headline(table, row, bench)))
    return out


def _own_paper(catalog: Catalog, entry: Entry) -> bool:
    method = catalog.methods.get(entry.row.method or "")
    if method is None:
        return False
    paper = entry.table.source.paper
    # a table whose paper has no catalog entry (paper: null) is nobody's own paper
    return paper is not None and paper in {method.id, method.variant_of}


def pick_paper(catalog: Catalog, entries: list[Entry], groups: dict[RowRef, object]) -> Entry | None:
    """The paper-reported entry of a line: the method's own paper (its best setting) when the catalog holds it;
    else the number most tables print (the largest lineage group), taken from its original rather than a copy."""
    papers = [e for e in entries if e.table.source.kind == "paper" and e.head.value is not None]
    if not papers:
        return None
    own = [e for e in papers if _own_paper(catalog, e) and not e.head.printed]
    if own:
        return max(own, key=lambda e: (e.head.value or 0.0, -e.ref.index))
    size = {g: sum(1 for other in groups.values() if other == g) for g in {groups[e.ref] for e in papers}}

    def rank(e: Entry) -> tuple[bool, int, bool, RowRef]:
        copied = e.row.copied_from is not None and e.row.copied_from.table is not None
        return (e.head.printed, -size[groups[e.ref]], copied, e.ref)

    return min(papers, key=rank)


def _table_link(table: ResultTable, here: str) -> Link:
    what = f" ({table.source.table})" if table.source.table else ""
    return Link(f"{table.source.name}{what}", safe_url(table.source.url))


def _cell(catalog: Catalog, entry: Entry, paper: Entry | None, groups: dict[RowRef, object], here: str,
          repeated: list[RowRef]) -> SourceCell:
    protocol = entry.table.protocol_of(entry.row)
    value = fmt(entry.head.value)
    if entry.head.printed:
        value = Cell(f"{value.text} (printed)", value.sort)
    copy_of = None
    diff = Cell("", "")
    if paper is not None and entry.ref != paper.ref and groups.get(entry.ref) == groups.get(paper.ref):
        copy_of = f"same numbers as the paper-reported row ({paper.table.id}, '{paper.row.label}')"
    elif entry.row.copied_from is not None:
        link = entry.row.copied_from
        copy_of = f"copied from {link.table or link.paper} row '{link.row}'"
    elif paper is not None and entry.ref != paper.ref and entry.head.value is not None:
        delta = entry.head.value - (paper.head.value or 0.0)
        diff = Cell(f"{delta:+.2f}", repr(round(delta, 6)))
    return SourceCell(
        kind=entry.table.source.kind, value=value, params=fmt_params(entry.row.params_m),
        source=_table_link(entry.table, here), row_label=entry.row.label,
        setting=entry.row.setting, selection=protocol.model_selection or "unknown",
        checkpoint=protocol.checkpoint or "unknown", copy_of=copy_of, diff=diff,
        repeated_in=[Link(f"{r.table} ('{r.label}')",
                          relative(here, leaderboard_page(catalog.results[r.table].benchmark)) + f"#{r.table}")
                     for r in repeated],
        read_in=entry.table.source.read_in,
        source_short=short_source(entry.table),
    )


def _column_title(name: str) -> str:
    """A benchmark column's heading: 'Unifying PETL study (arXiv 2409.16434): final-run outputs stored in its
    official repository' -> 'Unifying PETL study' (one line in a heading that does not wrap)."""
    return short_source_name(name).split(": ")[0]


def _columns(entries: list[Entry]) -> list[Column]:
    bench_tables = sorted({e.table.id: e.table for e in entries if e.table.source.kind == "benchmark"}.values(),
                          key=lambda t: t.id)
    return [Column("paper", "Paper-reported", None),
            *(Column("benchmark", _column_title(t.source.name), t.id, t.source.name) for t in bench_tables),
            Column("reproduced", "Reproduced (vpeft)", None)]


def _name(catalog: Catalog, first: Entry, here: str) -> Link:
    method = catalog.methods.get(first.row.method or "")
    if method is not None:
        return Link(method.name, relative(here, method_page(method.id)))
    if first.row.baseline is not None:
        return Link(BASELINES.get(first.row.baseline, first.row.baseline), None)
    return Link(first.row.label, None)


def _line(catalog: Catalog, key: str, entries: list[Entry], columns: list[Column],
          groups: dict[RowRef, object], here: str) -> Line:
    paper = pick_paper(catalog, entries, groups)
    cells: list[SourceCell | None] = []
    for col in columns:
        if col.kind == "paper":
            chosen = paper
        else:
            pool = [e for e in entries if e.table.source.kind == col.kind and (col.table in (None, e.table.id))]
            chosen = pool[0] if pool else None
        if chosen is None:
            cells.append(None)
            continue
        repeated = ([r for r in groups if groups[r] == groups[chosen.ref] and r != chosen.ref]
                    if col.kind == "paper" else [])
        cells.append(_cell(catalog, chosen, paper, groups, here, repeated))
    shown = paper or entries[0]
    method = shown.row.method if shown.row.method in catalog.methods else None
    return Line(key=key, name=_name(catalog, shown, here), kind=shown.row.row_kind,
                params=fmt_params(shown.row.params_m), cells=cells, method=method)


def method_boards(catalog: Catalog, bench: Benchmark, here: str) -> list[MethodBoard]:
    """One board per backbone of the benchmark, one line per method (or baseline) on it."""
    groups = lineage_groups(catalog)
    found_on = {b: entries(catalog, bench, b) for b in {t.backbone for t in catalog.results.values()
                                                        if t.benchmark == bench.id}}
    # the backbone most lines are on first: the benchmark's main setting, not the alphabetically first label (a
    # bare "ViT-B/16" of one ablation table would otherwise head the page)
    backbones = sorted(found_on, key=lambda b: (-len({line_key(e.row) for e in found_on[b]}), b))
    boards = []
    for n, backbone in enumerate(backbones):
        found = found_on[backbone]
        by_key: dict[str, list[Entry]] = {}
        for e in sorted(found, key=lambda e: (KIND_ORDER[e.table.source.kind], e.ref)):
            by_key.setdefault(line_key(e.row), []).append(e)
        columns = _columns(found)
        lines = [_line(catalog, k, v, columns, groups, here) for k, v in by_key.items()]
        board = ranked(MethodBoard(backbone, f"backbone-{n + 1}", headline_label(bench), columns, lines))
        boards.append(replace(board, wanted=wanted(board)))
    return boards


def wanted(board: MethodBoard) -> list[Link]:
    """The methods on the board that no paper-reported number backs yet (only a benchmark's or a reproduction's):
    the page asks contributors for the page and table that print one."""
    paper = [i for i, col in enumerate(board.columns) if col.kind == "paper"]
    lacking = {ln.name for ln in board.lines
               if ln.method is not None and ln.kind == "method" and all(ln.cells[i] is None for i in paper)}
    return sorted(lacking, key=lambda link: link.text.casefold())


def _value(line: Line, column: int) -> float | None:
    cell = line.cells[column]
    return float(cell.value.sort) if cell is not None and cell.value.sort else None


def ranked(board: MethodBoard) -> MethodBoard:
    """The board sorted and ranked by its column with the most numbers (lines without one last, unranked), with
    the best number of every column marked and a heat level on each."""
    counts = [sum(_value(ln, i) is not None for ln in board.lines) for i in range(len(board.columns))]
    by = counts.index(max(counts)) if counts else 0
    lines = sorted(board.lines, key=lambda ln: (_value(ln, by) is None, -(_value(ln, by) or 0.0)))
    marked = mark_columns([[ln.cells[i].value if ln.cells[i] else Cell("") for ln in lines]
                           for i in range(len(board.columns))])
    out = []
    place = 0
    for k, ln in enumerate(lines):
        value = _value(ln, by)
        if value is not None and (k == 0 or value != _value(lines[k - 1], by)):
            place = k + 1
        cells = [replace(c, value=marked[i][k]) if c else None for i, c in enumerate(ln.cells)]
        out.append(replace(ln, cells=cells, rank=Cell(str(place), str(place)) if value is not None else Cell("–")))
    return replace(board, lines=out, rank_by=by)


def paper_points(board: MethodBoard, column: int = 0) -> list[tuple[str, float, float, str | None]]:
    """(label, params, value, href) of every line with a number and a parameter count in `column`."""
    out = []
    for line in board.lines:
        cell = line.cells[column]
        if cell is None or not cell.value.sort or not cell.params.sort:
            continue
        out.append((line.name.text, float(cell.params.sort), float(cell.value.sort), line.name.href))
    return out

