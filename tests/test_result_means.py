"""Every printed mean of every result table is recomputed by code; the disagreements are exactly the known ones."""

from __future__ import annotations

import pytest
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import Benchmark, PublishedAggregates, ResultRow, ResultTable
from vpeft.catalog.result_checks import check_results, decimals, mean_checks

from tests.conftest import CATALOG

CATALOG_DATA, _ = load_catalog(CATALOG)

# (table, row label, what) -> why the printed value cannot be reproduced from the printed scores. Printed numbers
# are never corrected; each entry is checked below to really disagree, so the list cannot go stale.
KNOWN = {
    ("noah-paper-vtab-1k", "Full [19]", "mean"): "Flowers102 printed 87.2 (97.2 everywhere else): a typo",
    ("noah-paper-vtab-1k", "LoRA [18]", "mean"): "74.5 printed, group means give 74.60",
    ("convpass-paper-vtab-1k", "LoRA", "mean"): "the same LoRA row as NOAH's, average included",
    ("fact-paper-vtab-1k", "LoRA", "mean"): "the same LoRA row as NOAH's, average included",
    ("hydra-paper-vtab-1k-readme", "LoRA", "mean"): "the same LoRA row as NOAH's, average included",
    ("convpass-paper-vtab-1k-readme", "Full FT", "group mean specialized"): "2-decimal mean of 1-decimal scores",
    ("convpass-paper-vtab-1k-readme", "VPT", "group mean structured"): "2-decimal mean of 1-decimal scores",
    ("convpass-paper-vtab-1k-readme", "VPT", "mean"): "2-decimal mean of 1-decimal scores",
    **{("repadapter-paper-vtab-1k-readme", label, what): "labels swapped between the README's two tables"
       for label in ("RepAdapter_attn", "RepAdapter")
       for what in ("mean", "group mean natural", "group mean specialized", "group mean structured")},
    ("vfpt-paper-vtab-1k", "VPT-D [ECCV22][4]", "mean"): "group means rounded inconsistently with Mean Total",
    ("vfpt-paper-vtab-1k", "Partial-1 [NeurIPS14][93]", "mean"): "group means and Mean Total disagree",
    ("vfpt-paper-vtab-1k", "Adapter [NeurIPS20][32]", "mean"): "Mean Total 62.41 fits neither mean",
    ("vfpt-paper-vtab-1k", "LoRA [ICLR22][35]", "mean"): "Mean Total is V-PETL's 72.25, group means give 70.13",
    ("vfpt-paper-vtab-1k", "ARCatt [NeurIPS23][96]", "mean"): "group means and Mean Total disagree",
    # tables read in full-text copies of the papers (source.read_in); each row's note says what was compared
    ("da-vpt-paper-vtab-1k-moco-v3", "VPT-Deep", "mean"): "65.90 printed, group means give 65.23",
    ("da-vpt-paper-vtab-1k-moco-v3", "DA-VPT+ (ours)", "mean"): "73.53 printed, group means give 73.52",
    ("hyperadapter-paper-vtab-1k", "Convpass [22]", "mean"): "74.5 printed, group means of the scores give 76.56",
    ("hyperadapter-paper-vtab-1k-swin-b", "ARC", "mean"): "75.6 printed, the group means give 75.17",
    ("hyperadapter-paper-vtab-1k", "LoRA [18]", "mean"): "the same LoRA row as NOAH's, average included",
    ("hta-paper-vtab-1k-swin-b", "MLP-4 [24]", "group mean structured"): "31.2 printed, scores give 35.0",
    ("hta-paper-vtab-1k-swin-b", "VPT-Shallow [24]", "mean"): "62.9 printed, scores give 62.7",
    ("hta-paper-vtab-1k-swin-b", "VPT-Deep [24]", "mean"): "67.7 printed, scores give 68.6",
    ("rlrr-paper-vtab-1k-swin-b", "MLP-4 [13]", "mean"): "57.7 printed, group means give 56.1 (structured 31.2)",
    ("rlrr-paper-vtab-1k-swin-b", "VPT-Shallow [13]", "mean"): "62.9 printed, group means give 62.7",
    ("rlrr-paper-vtab-1k-swin-b", "VPT-Deep [13]", "mean"): "67.7 printed, group means give 68.6",
    ("mambapeft-paper-vtab-1k-vim-s", "Full", "mean"): "47.08 printed, group means give 50.82 (7/4/8-weighted)",
    ("pace-paper-fgvc", "Full", "mean"): "85.9 printed, scores give 88.54",
    ("pace-paper-vtab-1k", "LoRA", "mean"): "the same LoRA row as NOAH's, average included",
    ("pace-paper-vtab-1k", "NOAH", "mean"): "74.2 printed, group means of the scores give 75.48",
    ("pace-paper-vtab-1k", "RepAdapter", "mean"): "SSF's scores printed under RepAdapter's 76.1",
    ("qgoft-paper-vtab-1k", "LoRA r=8", "mean"): "the same LoRA row as NOAH's, average included",
    ("psoft-paper-vtab-1k", "FFT", "mean"): "67.8 printed = the task mean; group means give 71.07",
    ("boft-paper-vtab-1k-dinov2-l", "LoRA r=4 [29]", "mean"): "76.6 printed, the scores give 75.94",
    ("snell-paper-vtab-1k-mae", "Linear [30]", "mean"): "32.1 printed, group means give 31.8",
    ("snell-paper-vtab-1k-moco-v3", "Full", "mean"): "69.6 printed, group means give 66.2",
    ("snell-paper-vtab-1k-swin-b", "SPT-LoRA [22]", "mean"): "77.2 printed, group means give 77.0",
}


def _all_checks() -> list[tuple[str, str, str, bool]]:
    out = []
    for table in CATALOG_DATA.results.values():
        bench = CATALOG_DATA.benchmarks[table.benchmark]
        out += [(table.id, c.label, c.what, c.ok) for c in mean_checks(table, bench)]
    return out


def _checkable(table: ResultTable, row: ResultRow) -> bool:
    """A printed mean with the scores or group means it averages, or printed group means with their scores."""
    has_scores = any(v is not None for v in row.scores.values())
    mean = row.published.mean is not None and table.printed_mean is not None
    groups = bool(row.published.group_means)
    return (mean and (has_scores or groups)) or (groups and has_scores)


def test_every_table_that_prints_a_mean_is_checked() -> None:
    checked = {table_id for table_id, *_ in _all_checks()}
    tables = [t for t in CATALOG_DATA.results.values() if any(_checkable(t, r) for r in t.rows)]
    assert len(tables) >= 12
    for table in tables:
        assert table.id in checked, table.id


def test_printed_means_agree_with_recomputed_ones_except_known_errors() -> None:
    checks = _all_checks()
    assert len(checks) >= 120
    wrong = {(t, label, what) for t, label, what, ok in checks if not ok}
    assert wrong == set(KNOWN), sorted(wrong ^ set(KNOWN))


def _bench() -> Benchmark:
    return CATALOG_DATA.benchmarks["vtab-1k"]


def _table(row: ResultRow, printed_mean: str = "task-mean") -> ResultTable:
    return ResultTable.model_validate({
        "id": "t", "benchmark": "vtab-1k", "backbone": "b", "printed_mean": printed_mean,
        "source": {"name": "n", "kind": "paper", "url": "https://example.org", "table": "Table 1"},
        "rows": [row.model_dump()],
    })


def _row(mean: float, scores: dict[str, float] | None = None, groups: dict[str, float] | None = None) -> ResultRow:
    bench = _bench()
    return ResultRow(label="X", method=None, row_kind="baseline",
                     scores=scores if scores is not None else {t.id: 50.0 for t in bench.tasks},
                     published=PublishedAggregates(mean=mean, group_means=groups or {}))


def test_a_wrong_printed_mean_is_flagged_with_both_values() -> None:
    table = _table(_row(50.3, {t.id: 50.1 for t in _bench().tasks}))
    [check] = mean_checks(table, _bench())
    assert not check.ok and check.printed == 50.3 and check.computed == pytest.approx(50.1)
    catalog = CATALOG_DATA.model_copy(update={"results": {"t": table}, "files": {"results/t": "x/t.yaml"}})
    [problem] = [p for p in check_results(catalog) if "published.mean" in p.field]
    assert problem.severity == "warning" and problem.file == "x/t.yaml" and problem.field == "rows[0].published.mean"
    assert "'X'" in problem.message and "50.3" in problem.message and "50.100" in problem.message


def test_rounding_is_tolerated_and_the_mean_kind_decides() -> None:
    bench = _bench()
    scores = {t.id: {"natural": 90.0, "specialized": 80.0, "structured": 40.0}[t.group] for t in bench.tasks}
    task_mean = (7 * 90 + 4 * 80 + 8 * 40) / 19  # 66.84...
    assert mean_checks(_table(_row(66.8, scores)), bench)[0].ok  # within rounding of 1-decimal inputs
    assert not mean_checks(_table(_row(70.0, scores)), bench)[0].ok
    assert mean_checks(_table(_row(70.0, scores), "mean-of-group-means"), bench)[0].ok
    assert task_mean == pytest.approx(66.842, abs=1e-3)


def test_group_only_rows_are_checked_from_their_printed_group_means() -> None:
    groups = {"natural": 90.0, "specialized": 80.0, "structured": 40.0}
    row = _row(70.0, scores={}, groups=groups)
    [check] = mean_checks(_table(row, "mean-of-group-means"), _bench())
    assert check.ok and check.inputs == "printed group means"
    [check] = mean_checks(_table(row, "task-mean"), _bench())
    assert not check.ok and check.computed == pytest.approx((7 * 90 + 4 * 80 + 8 * 40) / 19)


def test_scores_outside_the_range_are_errors() -> None:
    row = _row(50.0)
    row.scores["dtd"] = 101.0
    catalog = CATALOG_DATA.model_copy(update={"results": {"t": _table(row)}, "files": {"results/t": "x/t.yaml"}})
    errors = [p for p in check_results(catalog) if p.severity == "error"]
    assert [p.field for p in errors] == ["rows[0].scores.dtd"] and "outside" in errors[0].message


def test_decimals() -> None:
    assert [decimals(v) for v in (65.57, 73.1, 68.0, 0.005)] == [2, 1, 0, 3]


def test_a_paper_source_needs_a_table_and_an_https_url() -> None:
    from pydantic import ValidationError
    from vpeft.catalog.models import Provenance

    with pytest.raises(ValidationError, match="needs `table`"):
        Provenance(name="n", kind="paper", url="https://example.org")
    with pytest.raises(ValidationError, match="https"):
        Provenance(name="n", kind="paper", url="http://example.org", table="Table 1")
    assert Provenance(name="n", kind="benchmark", url="https://example.org").table is None


def test_a_row_protocol_overrides_the_tables_field_by_field() -> None:
    from vpeft.catalog.models import Protocol

    table = _table(_row(50.0))
    table.protocol = Protocol(checkpoint="orig-in21k", model_selection="val200-then-retrain")
    row = table.rows[0]
    row.protocol = Protocol(model_selection="best-test-epoch")
    merged = table.protocol_of(row)
    assert (merged.checkpoint, merged.model_selection) == ("orig-in21k", "best-test-epoch")
