"""PPT of a row and of one task, and the means behind them, when scores or parameter counts are missing.

A table that prints a PPT from a row with a missing score or no parameter count would print a made-up number: these
tests pin that such cells stay empty (None) and that complete rows get the formula's value.
"""

from __future__ import annotations

import math

import pytest
from vpeft.catalog.derived import aggregates, ppt, row_ppt, task_ppt
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import ResultRow

from tests.conftest import CATALOG

CATALOG_DATA, _ = load_catalog(CATALOG)
VTAB = CATALOG_DATA.benchmarks["vtab-1k"]
FGVC = CATALOG_DATA.benchmarks["fgvc"]


def row(scores: dict[str, float | None], params_m: float | None = 0.5) -> ResultRow:
    return ResultRow(label="x", method=None, row_kind="baseline", params_m=params_m, scores=scores)


def full_fgvc(score: float = 80.0) -> dict[str, float | None]:
    return {task: score + i for i, task in enumerate(FGVC.task_ids())}


def test_ppt_is_score_fraction_times_exp_minus_log10_of_params_over_c_plus_one() -> None:
    assert ppt(90.0, 0.5) == pytest.approx(0.9 * math.exp(-math.log10(0.5e6 / 1e7 + 1)))
    assert ppt(90.0, 0.5, c=1e6) == pytest.approx(0.9 * math.exp(-math.log10(0.5 + 1))), "c is the normaliser"
    assert ppt(90.0, 5.0) < ppt(90.0, 0.5) < ppt(90.0, 0.0) == pytest.approx(0.9), "more parameters, lower PPT"


def test_row_ppt_is_the_ppt_of_the_task_mean() -> None:
    scores = full_fgvc()
    mean = sum(scores.values()) / len(scores)  # type: ignore[arg-type]
    assert row_ppt(row(scores), FGVC) == pytest.approx(ppt(mean, 0.5))


@pytest.mark.parametrize("case", ["missing score", "score null", "no parameter count"])
def test_row_ppt_is_empty_when_a_score_or_the_parameter_count_is_missing(case: str) -> None:
    scores = full_fgvc()
    params: float | None = 0.5
    first = FGVC.task_ids()[0]
    if case == "missing score":
        del scores[first]
    elif case == "score null":
        scores[first] = None
    else:
        params = None
    assert row_ppt(row(scores, params), FGVC) is None, f"{case}: no PPT rather than a PPT of part of the row"


def test_task_ppt_uses_that_task_only_and_is_empty_without_score_or_parameters() -> None:
    scores = full_fgvc()
    task = FGVC.task_ids()[1]
    assert task_ppt(row(scores), task) == pytest.approx(ppt(scores[task], 0.5))  # type: ignore[arg-type]
    assert task_ppt(row(scores), "no-such-task") is None, "a task the row has no score for"
    assert task_ppt(row({**scores, task: None}), task) is None, "a null score"
    assert task_ppt(row(scores, None), task) is None, "no parameter count"
    assert task_ppt(row({task: 0.0}), task) == 0.0, "a score of 0 is a score, not a missing one"


def test_a_missing_task_empties_its_group_mean_and_the_mean_of_group_means_only() -> None:
    scores: dict[str, float | None] = {t.id: 60.0 for t in VTAB.tasks}
    missing = next(t for t in VTAB.tasks if t.group == "structured")
    del scores[missing.id]
    agg = aggregates(row(scores), VTAB)
    assert agg.group_means["natural"] == pytest.approx(60.0) and agg.group_means["specialized"] == pytest.approx(60)
    assert agg.group_means["structured"] is None, f"{missing.id} is missing: no structured mean"
    assert agg.mean_of_group_means is None and agg.task_mean is None


def test_a_benchmark_without_groups_has_no_mean_of_group_means() -> None:
    assert not FGVC.groups, "this test needs a benchmark without task groups"
    agg = aggregates(row(full_fgvc()), FGVC)
    assert agg.group_means == {} and agg.mean_of_group_means is None
    assert agg.task_mean == pytest.approx(sum(full_fgvc().values()) / len(FGVC.task_ids()))  # type: ignore[arg-type]
