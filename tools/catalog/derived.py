"""Numbers computed from stored results: task means, group means and PPT. Never typed into the catalog."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import fmean

from .models import Benchmark, ResultRow

# PPT normalisation constant. V-PETL Bench prints PPT without a formula in its README; C = 1e7 with log10 is the
# reconstruction that reproduces its published cells (checked in tests/test_derived.py), not a quoted definition.
PPT_C = 1e7


def ppt(score_percent: float, params_m: float, c: float = PPT_C) -> float:
    """Performance-parameter trade-off: M * exp(-log10(P / C + 1)), M as a fraction and P a raw count."""
    return (score_percent / 100.0) * math.exp(-math.log10(params_m * 1e6 / c + 1.0))


@dataclass(frozen=True)
class Aggregates:
    """Means of one result row. `None` when a task the mean needs has no score."""

    task_mean: float | None
    group_means: dict[str, float | None]
    mean_of_group_means: float | None


def _mean(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return fmean(v for v in values if v is not None)


def aggregates(row: ResultRow, bench: Benchmark) -> Aggregates:
    scores = [row.scores.get(task) for task in bench.task_ids()]
    groups = {g.id: _mean([row.scores.get(t) for t in bench.tasks_in(g.id)]) for g in bench.groups}
    return Aggregates(
        task_mean=_mean(scores),
        group_means=groups,
        mean_of_group_means=_mean(list(groups.values())) if groups else None,
    )


def row_ppt(row: ResultRow, bench: Benchmark) -> float | None:
    """PPT of the task mean; None when the row has no parameter count or a task score is missing."""
    mean = aggregates(row, bench).task_mean
    if mean is None or row.params_m is None:
        return None
    return ppt(mean, row.params_m)


def task_ppt(row: ResultRow, task: str) -> float | None:
    """PPT of one task's score, for tables that print a PPT per metric (COCO box and mask AP)."""
    score = row.scores.get(task)
    if score is None or row.params_m is None:
        return None
    return ppt(score, row.params_m)
