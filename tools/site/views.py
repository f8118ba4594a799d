"""What the page templates show, computed from the typed catalog. Templates format nothing and compute nothing.

Every number on the site comes from here: means, group means and PPT from `tools.catalog.derived`, counts from the
catalog, trainable parameters from `tools.site.params`. Text stays plain `str`: the templates escape it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..catalog.derived import aggregates, row_ppt, task_ppt
from ..catalog.models import Benchmark, Catalog, MethodEntry, Protocol, ResultRow, ResultTable, TaxonomyNode
from .links import relative, safe_url

DASH = "–"
SOURCE_KIND_LABEL = {"benchmark": "reported", "paper": "reported", "reproduced": "reproduced"}


@dataclass(frozen=True)
class Link:
    """A link, or plain text when `href` is None (an unsafe or missing URL is never a link)."""

    text: str
    href: str | None


@dataclass(frozen=True)
class Cell:
    """A table cell: the text shown and the value the sort script uses (empty sorts last)."""

    text: str
    sort: str = ""
    best: bool = False  # the best value of its column (highest score)
    heat: int | None = None  # 0-9: where the value sits between its column's lowest and highest (heat-map view)


HEAT_LEVELS = 9


def mark_columns(columns: list[list[Cell]]) -> list[list[Cell]]:
    """Each column (a list of cells) with its highest value marked best and every value given a heat level."""
    out = []
    for cells in columns:
        values = [float(c.sort) for c in cells if c.sort]
        if not values:
            out.append(list(cells))
            continue
        lo, hi = min(values), max(values)
        out.append([replace(c, best=float(c.sort) == hi,
                            heat=round(HEAT_LEVELS * (float(c.sort) - lo) / (hi - lo)) if hi > lo else HEAT_LEVELS)
                    if c.sort else c for c in cells])
    return out


def fmt(value: float | None, digits: int = 2) -> Cell:
    if value is None:
        return Cell(DASH, "")
    return Cell(f"{value:.{digits}f}", repr(round(value, 6)))


def printed_text(value: float) -> str:
    """A stored score with every decimal it holds and at least one: 54.0 -> '54.0', 62.12 -> '62.12', 88.5 -> '88.5'.
    One fixed precision would round a two-decimal source (V-PETL Bench's 62.12 showed as 62.1) or pad a one-decimal
    one, and '{:g}' drops a printed '.0' (54.0 showed as 54)."""
    frac = repr(round(value, 6)).partition(".")[2].rstrip("0")  # "" for a whole number
    return f"{value:.{len(frac) if frac.isdigit() else 1}f}"


def fmt_score(value: float | None) -> Cell:
    """A score as its source prints it (see printed_text); sorted by its value."""
    if value is None:
        return Cell(DASH, "")
    return Cell(printed_text(value), repr(round(value, 6)))


def fmt_params(value: float | None) -> Cell:
    if value is None:
        return Cell(DASH, "")
    return Cell(f"{value:g} M", repr(value))


def method_page(method_id: str) -> str:
    return f"method/{method_id}.md"


def node_page(node_id: str) -> str:
    return f"taxonomy/{node_id}.md"


def leaderboard_page(bench_id: str) -> str:
    return f"leaderboard/{bench_id}.md"


def venue_year(paper_venue: str | None, year: int | None) -> str:
    return " ".join(str(x) for x in (paper_venue, year) if x) or "venue not verified"


def venue_line(paper_venue: str | None, venue_full: str | None, year: int | None) -> str:
    """'ICLR 2022 · International Conference on Learning Representations': the long form without what the short
    one already says (its '(ICLR)', 'ICLR 2022', a year standing as its own field), so nothing is said twice."""
    short = venue_year(paper_venue, year)
    rest = venue_full or ""
    if paper_venue:
        name = re.escape(paper_venue)
        rest = re.sub(rf"\(\s*{name}(\s+{year})?\s*\)", "", rest)
        if year:
            rest = re.sub(rf"\b{name}\s+{year}\b", "", rest)
    if year:
        rest = re.sub(rf"[,\s]+{year}\b(?=\s*(,|$))", "", rest)
    rest = re.sub(r"\s+", " ", re.sub(r"(\s*,)+", ",", rest)).strip(" ,;")
    if not rest or rest.lower() in {short.lower(), (paper_venue or "").lower()}:
        return short
    return f"{short} · {rest}"


# ---------------------------------------------------------------- methods table


@dataclass(frozen=True)
class MethodRow:
    id: str
    link: Link
    category: Link
    category_ids: str  # the ids on the path to the leaf, space separated: a filter on a branch matches its leaves
    venue: str
    year: Cell
    applications: list[str]
    code: Link | None
    implementation: str | None
    search: str  # text the search box matches besides the visible cells: aliases, title, authors
    stats: Any = None  # method_stats.MethodStats: parameter counts and best VTAB-1k mean (None: not shown)


def method_row(catalog: Catalog, entry: MethodEntry, here: str, stats: Any = None) -> MethodRow:
    path = catalog.taxonomy.path(entry.category) if catalog.taxonomy else []
    leaf = path[-1] if path else None
    code = safe_url(entry.code_url)
    return MethodRow(
        id=entry.id,
        link=Link(entry.name, relative(here, method_page(entry.id))),
        category=Link(leaf.name, relative(here, node_page(leaf.id))) if leaf else Link(entry.category, None),
        category_ids=" ".join(n.id for n in path),
        venue=entry.paper.venue or "",
        year=Cell(str(entry.paper.year), str(entry.paper.year)) if entry.paper.year else Cell(DASH, ""),
        applications=list(entry.tags.applications),
        code=Link("code", code) if code else None,
        implementation=entry.implementation,
        search=" ".join([*entry.aliases, entry.paper.title or "", *entry.paper.authors_read()]),
        stats=stats,
    )


def method_rows(catalog: Catalog, entries: list[MethodEntry], here: str,
                stats: Mapping[str, Any] | None = None) -> list[MethodRow]:
    """Rows of the methods table; `stats` (method id -> MethodStats) adds the parameter and score columns."""
    return [method_row(catalog, e, here, (stats or {}).get(e.id))
            for e in sorted(entries, key=lambda e: e.name.lower())]


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Filters:
    categories: list[Option]
    venues: list[str]
    applications: list[str]
    year_min: int | None
    year_max: int | None


def filters(catalog: Catalog) -> Filters:
    nodes = catalog.taxonomy.walk() if catalog.taxonomy else []
    categories = [Option(n.id, "\u00a0\u00a0" * len(parents) + n.name) for n, parents in nodes]
    entries = list(catalog.methods.values())
    years = [e.paper.year for e in entries if e.paper.year]
    return Filters(
        categories=categories,
        venues=sorted({e.paper.venue for e in entries if e.paper.venue}, key=str.lower),
        applications=sorted({a for e in entries for a in e.tags.applications}, key=str.lower),
        year_min=min(years, default=None),
        year_max=max(years, default=None),
    )


# ---------------------------------------------------------------- taxonomy


@dataclass
class TreeNode:
    id: str
    name: str
    description: str
    count: int
    href: str
    children: list[TreeNode] = field(default_factory=list)


def taxonomy_tree(catalog: Catalog, here: str) -> list[TreeNode]:
    def visit(node: TaxonomyNode) -> TreeNode:
        return TreeNode(
            id=node.id,
            name=node.name,
            description=node.description,
            count=len(catalog.methods_in(node.id)),
            href=relative(here, node_page(node.id)),
            children=[visit(c) for c in node.children],
        )

    return [visit(n) for n in catalog.taxonomy.nodes] if catalog.taxonomy else []


# ---------------------------------------------------------------- leaderboards


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    title: str = ""  # tooltip: what the column means


@dataclass(frozen=True)
class BoardRow:
    label: Link
    kind: str
    params: Cell
    cells: list[Cell]
    source: Link
    note: int | None = None  # number of the row's note under the table
    lineage: str = ""  # where the row's numbers come from, when not from this source's own runs


@dataclass(frozen=True)
class Board:
    """One result table: one source, one benchmark, one backbone."""

    id: str
    backbone: str
    source: Link
    source_kind: str
    commit: str | None
    section: str | None
    columns: list[Column]
    rows: list[BoardRow]
    notes: list[str]  # the rows' notes, numbered from 1 in the order of the rows
    table: str | None = None  # the table as the source numbers it
    read_in: str | None = None  # where the digits were read when not on the source page
    protocol: str = ""
    printed_mean: str | None = None
    table_notes: list[str] = field(default_factory=list)
    files: list[Link] = field(default_factory=list)  # its CSV and JSON downloads
    source_short: str = ""  # the heading's text: the source without its author list, and the table


PRINTED_MEAN = {"task-mean": "mean of the task scores", "mean-of-group-means": "mean of the group means"}


def _protocol_fields(protocol: Protocol) -> list[tuple[str, object]]:
    """The protocol's fields in reading order, each with its name in words."""
    return [("checkpoint", protocol.checkpoint), ("image size", protocol.image_size),
            ("model selection", protocol.model_selection), ("seeds", protocol.seeds),
            ("augmentation", protocol.augmentation)]


def protocol_text(protocol: Protocol) -> str:
    """The protocol in words; 'not stated' where the source does not say."""
    return ", ".join(f"{what} {value}" if value is not None else f"{what} not stated"
                     for what, value in _protocol_fields(protocol))


def lineage_text(row: ResultRow, short: bool = False) -> str:
    """Where a row's numbers come from (with the evidence unless `short`); empty for a source's own numbers."""
    parts = []
    link = row.copied_from
    if link is not None:
        where = link.table or f"{link.paper} paper, {link.paper_table or 'table not identified'}"
        basis = "the source says so" if link.basis == "stated" else "equal digits"
        parts.append(f"copied from {where}, row '{link.row}' ({basis})" + ("" if short else f": {link.evidence}"))
    if row.produced_by is not None:
        made = row.produced_by
        code = f", model file {made.model_file}" if made.model_file else ""
        parts.append(f"produced by: {made.kind}{code}")
    return " — ".join(parts)


def source_link(table: ResultTable) -> Link:
    commit = f" @ {table.source.commit[:7]}" if table.source.commit else ""
    return Link(f"{table.source.name}{commit}", safe_url(table.source.url))


def _has_means(bench: Benchmark) -> bool:
    return bench.averaged and len(bench.tasks) > 1


def board_columns(bench: Benchmark) -> list[Column]:
    """Averages, group means and PPT first (they fit on screen), then one column per task."""
    cols = []
    if _has_means(bench):
        cols.append(Column("mean", f"Average over {len(bench.tasks)} tasks", "mean of all task scores"))
        if bench.groups:
            cols.append(Column("mean", f"Average of {len(bench.groups)} group means", "mean of the group means"))
        cols += [Column("mean", f"{g.name} mean", f"mean over the {g.name.lower()} tasks") for g in bench.groups]
    if bench.averaged:
        cols.append(Column("ppt", "PPT", "performance-parameter trade-off of the task average (reconstructed formula)"))
    else:
        cols += [Column("ppt", f"PPT {t.name}", f"PPT of {t.name} (reconstructed formula)") for t in bench.tasks]
    return cols + [Column("task", t.name, t.metric) for t in bench.tasks]


def board_cells(row: ResultRow, bench: Benchmark) -> list[Cell]:
    """The cells of `board_columns`, in the same order."""
    cells = []
    if _has_means(bench):
        agg = aggregates(row, bench)
        cells.append(fmt(agg.task_mean))
        if bench.groups:
            cells.append(fmt(agg.mean_of_group_means))
        cells += [fmt(agg.group_means.get(g.id)) for g in bench.groups]
    if bench.averaged:
        cells.append(fmt(row_ppt(row, bench)))
    else:
        cells += [fmt(task_ppt(row, t.id)) for t in bench.tasks]
    return cells + [fmt_score(row.scores.get(t.id)) for t in bench.tasks]


def board(catalog: Catalog, table: ResultTable, bench: Benchmark, here: str) -> Board:
    source = source_link(table)
    rows = []
    notes: list[str] = []
    for row in table.rows:
        if row.note:
            notes.append(row.note)
        target = relative(here, method_page(row.method)) if row.method in catalog.methods else None
        rows.append(
            BoardRow(
                label=Link(row.label, target),
                kind=row.row_kind,
                params=fmt_params(row.params_m),
                cells=board_cells(row, bench),
                source=source,
                note=len(notes) if row.note else None,
                lineage=lineage_text(row, short=True),  # the evidence is on the method page
            )
        )
    if rows:
        marked = mark_columns([[r.cells[i] for r in rows] for i in range(len(rows[0].cells))])
        rows = [replace(r, cells=[col[k] for col in marked]) for k, r in enumerate(rows)]
    return Board(
        id=table.id,
        backbone=table.backbone,
        source=source,
        source_kind=SOURCE_KIND_LABEL[table.source.kind],
        commit=table.source.commit,
        section=table.source.section,
        columns=board_columns(bench),
        rows=rows,
        notes=notes,
        table=table.source.table,
        read_in=table.source.read_in,
        protocol=protocol_text(table.protocol),
        source_short=short_source(table),
        printed_mean=PRINTED_MEAN.get(table.printed_mean or ""),
        table_notes=list(table.notes),
    )


def tables_of(catalog: Catalog, bench_id: str) -> list[ResultTable]:
    """Result tables of a benchmark: reported ones first, then reproduced ones, each by backbone."""
    tables = [t for t in catalog.results.values() if t.benchmark == bench_id]
    return sorted(tables, key=lambda t: (t.source.kind == "reproduced", t.backbone, t.id))


# ---------------------------------------------------------------- a method's results


@dataclass(frozen=True)
class MethodResult:
    benchmark: Link
    backbone: str
    label: str
    method: Link  # the family member the row is about (VPT-Deep on VPT's page)
    setting: str | None
    summary: str  # the averages, or each task's score when a mean is not meaningful
    params: Cell
    source: Link
    source_kind: str
    protocol: str
    lineage: str
    note: str | None = None
    read_in: str | None = None  # where the digits were read when not on the source page
    source_short: str = ""  # what the cell shows: the source's name without its author list, and the table
    lineage_short: str = ""  # the lineage without its evidence (the evidence opens on demand)
    protocol_short: str = ""  # the stated fields, then the names of those not stated
    note_collapsed: bool = False  # a long note opens on demand instead of stretching its row


# a row's note longer than this opens on demand: in the narrow Result column a 500-character note made its row a
# screen tall
NOTE_INLINE_CHARS = 60


def short_source_name(name: str) -> str:
    """The source's name without its first parenthesised part (the author list and venue): 'HTA (Dong, Sun, ...,
    NeurIPS 2024)' -> 'HTA'; 'Consolidator (Hao, ...) – official repository README' -> 'Consolidator – official
    repository README'. The full name stays in the cell's title and in the downloads."""
    start = name.find(" (")
    if start < 0:
        return name
    depth = 0
    for i in range(start + 1, len(name)):
        depth += {"(": 1, ")": -1}.get(name[i], 0)
        if depth == 0:
            return (name[:start] + name[i + 1:]).strip() or name
    return name  # unbalanced: keep it whole


def short_source(table: ResultTable) -> str:
    """'HTA, Table 2': the source's short name and the table, where a cell or heading names a table."""
    return short_source_name(source_link(table).text) + (f", {table.source.table}" if table.source.table else "")


def protocol_brief(protocol: Protocol) -> str:
    """The stated protocol fields, then the names of those not stated: the same facts as protocol_text, shorter."""
    fields = _protocol_fields(protocol)
    stated = ", ".join(f"{what} {value}" for what, value in fields if value is not None)
    missing = ", ".join(what for what, value in fields if value is None)
    if not missing:
        return stated
    return f"{stated}; not stated: {missing}" if stated else f"not stated: {missing}"


def family_ids(catalog: Catalog, entry: MethodEntry) -> set[str]:
    """The entry and its variants: VPT's page also shows the VPT-Deep and VPT-Shallow rows."""
    return {entry.id} | {m.id for m in catalog.methods.values() if m.variant_of == entry.id}


def method_results(catalog: Catalog, entry: MethodEntry, here: str) -> list[MethodResult]:
    out = []
    members = family_ids(catalog, entry)
    for table in catalog.results.values():
        bench = catalog.benchmarks.get(table.benchmark)
        if bench is None:
            continue
        for row in table.rows:
            if row.method not in members:
                continue
            member = catalog.methods[row.method]
            table_name = f" ({table.source.table})" if table.source.table else ""
            out.append(
                MethodResult(
                    benchmark=Link(bench.name, relative(here, leaderboard_page(bench.id)) + f"#{table.id}"),
                    backbone=table.backbone,
                    label=row.label,
                    method=Link(member.name, relative(here, method_page(member.id)) if member.id != entry.id else None),
                    setting=row.setting,
                    summary=result_summary(row, bench),
                    params=fmt_params(row.params_m),
                    source=Link(f"{source_link(table).text}{table_name}", source_link(table).href),
                    source_kind=SOURCE_KIND_LABEL[table.source.kind],
                    protocol=protocol_text(table.protocol_of(row)),
                    lineage=lineage_text(row),
                    note=row.note,
                    read_in=table.source.read_in,
                    source_short=short_source(table),
                    lineage_short=lineage_text(row, short=True),
                    protocol_short=protocol_brief(table.protocol_of(row)),
                    note_collapsed=row.note is not None and len(row.note) > NOTE_INLINE_CHARS,
                )
            )
    return sorted(out, key=lambda r: (r.source_kind, r.benchmark.text, r.backbone, r.source.text))


def result_summary(row: ResultRow, bench: Benchmark) -> str:
    if _has_means(bench):
        agg = aggregates(row, bench)
        parts = []
        if agg.task_mean is not None:
            parts.append(f"average over {len(bench.tasks)} tasks: {fmt(agg.task_mean).text}")
        if agg.mean_of_group_means is not None:
            parts.append(f"average of {len(bench.groups)} group means: {fmt(agg.mean_of_group_means).text}")
        printed = row.published.group_means
        if not parts and printed:
            # a table that prints only group means: show them as printed (no per-task scores to average)
            parts.append("group means as printed: " + ", ".join(f"{g}: {printed_text(v)}" for g, v in printed.items()))
        if not parts and row.published.mean is not None:
            parts.append(f"average as printed: {printed_text(row.published.mean)}")
        return "; ".join(parts) or "no scores stored"
    return "; ".join(f"{t.name}: {fmt_score(row.scores.get(t.id)).text}" for t in bench.tasks)
