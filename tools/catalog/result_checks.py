"""Checks of result tables against their benchmark and against each other: score ranges, printed means recomputed
by code, and lineage (rows copied from another table must say so).

Printed numbers are never changed: a printed mean that our code cannot reproduce is a warning naming both values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .derived import aggregates
from .lineage import unlinked_copies
from .models import Benchmark, Catalog, ResultRow, ResultTable
from .problems import Problem

MeanKind = str  # "task-mean" | "mean-of-group-means"


def decimals(value: float) -> int:
    """Digits after the point as the number is stored: 65.57 -> 2, 73.1 -> 1, 68.0 -> 0."""
    text = repr(float(value))
    if "e" in text or "." not in text:
        return 0
    frac = text.split(".")[1].rstrip("0")
    return len(frac)


def _half_unit(digits: int) -> float:
    return 0.5 * 10.0 ** -digits


@dataclass(frozen=True)
class Recomputed:
    """Both means of one row, computed from its task scores or, without them, from its printed group means."""

    task_mean: float | None
    mean_of_group_means: float | None
    inputs: str  # "task scores" or "printed group means"
    input_digits: int

    def of(self, kind: MeanKind) -> float | None:
        return self.task_mean if kind == "task-mean" else self.mean_of_group_means


def recompute(row: ResultRow, bench: Benchmark, input_digits: int) -> Recomputed | None:
    agg = aggregates(row, bench)
    if agg.task_mean is not None:
        return Recomputed(agg.task_mean, agg.mean_of_group_means, "task scores", input_digits)
    printed = row.published.group_means
    if bench.groups and all(g.id in printed for g in bench.groups):
        # weights are the group sizes: the 19-task mean is the size-weighted mean of the group means
        sizes = {g.id: len(bench.tasks_in(g.id)) for g in bench.groups}
        total = sum(sizes.values())
        task_mean = sum(printed[g] * n for g, n in sizes.items()) / total if total else None
        mogm = sum(printed[g.id] for g in bench.groups) / len(bench.groups)
        digits = max(decimals(v) for v in printed.values())
        return Recomputed(task_mean, mogm, "printed group means", digits)
    return None


@dataclass(frozen=True)
class MeanCheck:
    row: int
    label: str
    what: str  # "mean" or "group mean <id>"
    printed: float
    computed: float
    tolerance: float
    inputs: str

    @property
    def ok(self) -> bool:
        return abs(self.printed - self.computed) <= self.tolerance + 1e-9


def _table_digits(values: Iterable[float]) -> int:
    return max((decimals(v) for v in values), default=0)


def mean_checks(table: ResultTable, bench: Benchmark) -> list[MeanCheck]:
    """Every printed mean and group mean of the table next to the value our code computes.

    Tolerance: half a unit of the printed precision (the table's rounding) plus half a unit of the inputs' precision
    (each input was itself rounded, and averaging keeps that bound)."""
    out: list[MeanCheck] = []
    printed_digits = _table_digits(
        v for r in table.rows for v in [r.published.mean, *r.published.group_means.values()] if v is not None
    )
    score_digits = _table_digits(v for r in table.rows for v in r.scores.values() if v is not None)
    for i, row in enumerate(table.rows):
        comp = recompute(row, bench, score_digits)
        if comp is None:
            continue
        tol = _half_unit(printed_digits) + _half_unit(comp.input_digits)
        if row.published.mean is not None and table.printed_mean is not None:
            value = comp.of(table.printed_mean)
            if value is not None:
                out.append(MeanCheck(i, row.label, "mean", row.published.mean, value, tol, comp.inputs))
        if comp.inputs == "task scores":
            groups = aggregates(row, bench).group_means
            for gid, printed in row.published.group_means.items():
                if groups.get(gid) is not None:
                    out.append(MeanCheck(i, row.label, f"group mean {gid}", printed, groups[gid], tol, comp.inputs))
    return out


def _mean_problems(file: str, table: ResultTable, bench: Benchmark) -> Iterable[Problem]:
    """A printed mean the scores do not give is a warning, or a note when the row says it was checked against the
    source (`printed_as_is`); a field listed there that agrees with the scores is an error (stale)."""
    kind_text = {"task-mean": f"mean of the {len(bench.tasks)} task scores",
                 "mean-of-group-means": "mean of the group means"}
    disagreeing: set[tuple[int, str]] = set()
    for check in mean_checks(table, bench):
        if check.ok:
            continue
        what = kind_text.get(table.printed_mean or "", "") if check.what == "mean" else check.what
        where = "published.mean" if check.what == "mean" else f"published.group_means.{check.what.split()[-1]}"
        disagreeing.add((check.row, where))
        checked = where in table.rows[check.row].printed_as_is
        yield Problem(file, f"rows[{check.row}].{where}",
                      f"row '{check.label}': printed {check.printed:g} but the {what} computed from the "
                      f"{check.inputs} is {check.computed:.3f} (more than ±{check.tolerance:.3f} of rounding apart)"
                      + ("; checked: printed so in the source" if checked else
                         "; if the source prints it so, list the field in the row's printed_as_is"),
                      "note" if checked else "warning")
    for i, row in enumerate(table.rows):
        for field in row.printed_as_is:
            if (i, field) not in disagreeing:
                yield Problem(file, f"rows[{i}].printed_as_is",
                              f"'{field}' agrees with the scores (or is no checked aggregate): remove it")


def _range_problems(file: str, table: ResultTable, bench: Benchmark) -> Iterable[Problem]:
    lo, hi = bench.score_min, bench.score_max
    groups = {g.id for g in bench.groups}
    for i, row in enumerate(table.rows):
        values = [(f"scores.{t}", v) for t, v in row.scores.items()]
        values.append(("published.mean", row.published.mean))
        values += [(f"published.group_means.{g}", v) for g, v in row.published.group_means.items()]
        for field, value in values:
            if value is not None and not lo <= value <= hi:
                yield Problem(file, f"rows[{i}].{field}", f"{value:g} is outside {bench.id}'s range [{lo:g}, {hi:g}]")
        for gid in row.published.group_means:
            if gid not in groups:
                yield Problem(file, f"rows[{i}].published.group_means.{gid}", f"unknown group of {bench.id}")
    if table.printed_mean is None and any(r.published.mean is not None for r in table.rows):
        yield Problem(file, "printed_mean",
                      "rows print a mean: say which (task-mean or mean-of-group-means) so it can be recomputed")


def _reference_problems(catalog: Catalog, file: str, table: ResultTable) -> Iterable[Problem]:
    if table.source.paper is not None and table.source.paper not in catalog.methods:
        yield Problem(file, "source.paper", f"unknown method '{table.source.paper}'")
    for i, row in enumerate(table.rows):
        if row.baseline is not None and row.row_kind != "baseline":
            yield Problem(file, f"rows[{i}].baseline",
                          f"only baseline rows name a baseline (this is a {row.row_kind} row)")
        elif row.baseline is None and row.row_kind == "baseline":
            # a warning: the row still shows, but leaderboards cannot put it on one line with the same baseline
            yield Problem(file, f"rows[{i}].baseline", "name the baseline (full-fine-tuning, linear-probing, ...)",
                          "warning")
        link = row.copied_from
        if link is not None and link.table is not None:
            target = catalog.results.get(link.table)
            if target is None:
                yield Problem(file, f"rows[{i}].copied_from.table", f"unknown result table '{link.table}'")
            elif link.table == table.id:
                yield Problem(file, f"rows[{i}].copied_from.table", "a row cannot be copied from its own table")
            elif link.row not in {r.label for r in target.rows}:
                yield Problem(file, f"rows[{i}].copied_from.row", f"'{link.row}' is not a row label of {link.table}")
        if link is not None and link.paper is not None and link.paper not in catalog.methods:
            yield Problem(file, f"rows[{i}].copied_from.paper", f"unknown method '{link.paper}'")
        if row.produced_by is not None:
            if table.source.kind != "benchmark":
                yield Problem(file, f"rows[{i}].produced_by", "only rows of a benchmark table say what produced them")
            elif row.produced_by.kind == "copied" and link is None:
                yield Problem(file, f"rows[{i}].produced_by.kind", "'copied' needs copied_from on the row")


def _empty_problems(file: str, table: ResultTable) -> Iterable[Problem]:
    """What a stub from `vpeft results new` leaves to fill: `required`, like a method stub's facts (the site and
    the other commands leave a table without its backbone out until it is filled)."""
    if table.backbone is None:
        yield Problem(file, "backbone", "empty: the backbone as the table prints it, e.g. 'ViT-B/16 (ImageNet-21k)'",
                      "required")
    for i, row in enumerate(table.rows):
        if all(v is None for v in row.scores.values()) and row.published.mean is None \
                and not row.published.group_means and row.note is None:
            yield Problem(file, f"rows[{i}].scores",
                          f"row '{row.label}' is empty: copy each task's score exactly as printed (null only for a "
                          "task the table leaves out) and the printed mean into published.mean, or say in the "
                          "row's note why the table prints no number", "required")


def check_results(catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    for table in catalog.results.values():
        file = catalog.files.get(f"results/{table.id}", table.id)
        problems += _empty_problems(file, table)
        problems += _reference_problems(catalog, file, table)
        bench = catalog.benchmarks.get(table.benchmark)
        if bench is not None:
            problems += _range_problems(file, table, bench)
            problems += _mean_problems(file, table, bench)
    for copy in unlinked_copies(catalog):
        problems.append(Problem(
            catalog.files.get(f"results/{copy.second.table}", copy.second.table), f"rows[{copy.second.index}]",
            f"row '{copy.second.label}' equals {copy.first.table} row '{copy.first.label}' digit for digit on "
            f"{copy.equal} tasks but no lineage links them (set copied_from)", "warning"))
    return problems
