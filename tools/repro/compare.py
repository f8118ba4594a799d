"""Aggregates of a run (tools.catalog.derived) and the side-by-side comparison with every reported number."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog.derived import aggregates
from ..catalog.models import Benchmark, Catalog, ResultRow


@dataclass
class Reported:
    """One published row of the method, restricted to the tasks that were run."""

    table: str
    source: str
    label: str
    scores: dict[str, float | None]
    mean: float | None  # mean over the run's tasks (all 19: the 19-task mean)
    params_m: float | None
    is_reference: bool


@dataclass
class Comparison:
    tasks: list[str]
    ours: dict[str, float]
    mean: float | None
    group_means: dict[str, float | None]
    mean_of_group_means: float | None
    reported: list[Reported] = field(default_factory=list)

    def reference(self) -> Reported | None:
        return next((r for r in self.reported if r.is_reference), None)


def _mean(values: list[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else sum(v for v in values if v is not None) / len(
        values)


def row_of(scores: dict[str, float], label: str = "run") -> ResultRow:
    return ResultRow(label=label, method=None, row_kind="unidentified", scores=dict(scores))


def compare(catalog: Catalog, bench: Benchmark, scores: dict[str, float], compare_with: list[str],
            reference: str | None, reference_row: str | None = None) -> Comparison:
    """Every row of the compared methods, and the recipe's reference row (which may be a baseline without a method
    id, such as 'Full fine-tuning'); the reference table's row decides pass/fail."""
    tasks = [t for t in bench.task_ids() if t in scores]
    agg = aggregates(row_of(scores), bench)
    partial = len(tasks) != len(bench.task_ids())
    out = Comparison(tasks=tasks, ours=scores, mean=agg.task_mean if not partial else _mean([scores[t] for t in tasks]),
                     group_means=agg.group_means, mean_of_group_means=agg.mean_of_group_means)
    for table in sorted(catalog.results.values(), key=lambda t: t.id):
        if table.benchmark != bench.id:
            continue
        for row in table.rows:
            is_ref_row = table.id == reference and reference_row is not None and row.label == reference_row
            if row.method in compare_with or is_ref_row:
                picked = {t: row.scores.get(t) for t in tasks}
                out.reported.append(Reported(
                    table=table.id, source=f"{table.source.name} ({table.source.kind})", label=row.label,
                    scores=picked, mean=_mean(list(picked.values())), params_m=row.params_m,
                    is_reference=table.id == reference and (reference_row is None or row.label == reference_row),
                ))
    return out


def fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def table_lines(cmp: Comparison, bench: Benchmark) -> list[str]:
    """Per task: ours, then each reported row and our difference to it."""
    names = {t.id: t.name for t in bench.tasks}
    header = f"{'task':<16}{'ours':>8}"
    for i in range(len(cmp.reported)):
        header += f"  {'[' + str(i + 1) + ']':>8}{'diff':>8}"
    lines = [header]
    rows = [(names.get(t, t), cmp.ours[t], {i: r.scores.get(t) for i, r in enumerate(cmp.reported)})
            for t in cmp.tasks]
    rows.append(("mean" if len(cmp.tasks) < len(bench.task_ids()) else "19-task mean", cmp.mean,
                 {i: r.mean for i, r in enumerate(cmp.reported)}))
    for name, ours, theirs in rows:
        line = f"{name:<16}{fmt(ours):>8}"
        for i in range(len(cmp.reported)):
            diff = None if ours is None or theirs[i] is None else ours - theirs[i]  # type: ignore[operator]
            line += f"  {fmt(theirs[i]):>8}{fmt(diff, True):>8}"
        lines.append(line)
    if cmp.mean_of_group_means is not None:
        groups = ", ".join(f"{g} {fmt(v)}" for g, v in cmp.group_means.items())
        lines.append(f"mean of group means {fmt(cmp.mean_of_group_means)} ({groups})")
    for i, rep in enumerate(cmp.reported):
        ref = " (reference)" if rep.is_reference else ""
        lines.append(f"[{i + 1}] {rep.label}, {rep.source}, table {rep.table}{ref}")
    return lines
