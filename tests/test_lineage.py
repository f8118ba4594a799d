"""Lineage: rows equal digit for digit on many tasks must be linked by copied_from, and the check fires when not."""

from __future__ import annotations

from vpeft.catalog.lineage import lineage_groups, repeats, unlinked_copies
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import Catalog, ResultTable
from vpeft.catalog.result_checks import check_results

from tests.conftest import CATALOG

CATALOG_DATA, _ = load_catalog(CATALOG)
TASKS = CATALOG_DATA.benchmarks["vtab-1k"].task_ids()


def _scores(equal: int) -> tuple[dict[str, float], dict[str, float]]:
    """Two score rows equal on the first `equal` tasks and different on the rest."""
    a = {t: 50.0 + i / 10 for i, t in enumerate(TASKS)}
    # as read from another YAML file: the same numbers, but other float objects than a's
    b = {t: (float(str(v)) if i < equal else v + 1.0) for i, (t, v) in enumerate(a.items())}
    return a, b


def _table(table_id: str, scores: dict[str, float], copied_from: dict | None = None,
           benchmark: str = "vtab-1k", backbone: str = "b") -> ResultTable:
    return ResultTable.model_validate({
        "id": table_id, "benchmark": benchmark, "backbone": backbone,
        "source": {"name": table_id, "kind": "paper", "url": "https://example.org", "table": "Table 1"},
        "rows": [{"label": "Row", "method": None, "row_kind": "baseline", "scores": scores,
                  "copied_from": copied_from}],
    })


def _catalog(*tables: ResultTable) -> Catalog:
    return CATALOG_DATA.model_copy(update={
        "results": {t.id: t for t in tables}, "files": {f"results/{t.id}": f"results/{t.id}.yaml" for t in tables},
    })


def _lineage_warnings(catalog: Catalog) -> list[str]:
    return [str(p) for p in check_results(catalog) if "no lineage" in p.message]


def test_fires_on_an_unlinked_copy_of_15_tasks_naming_both_rows() -> None:
    a, b = _scores(15)
    [warning] = _lineage_warnings(_catalog(_table("first", a), _table("second", b)))
    assert warning.startswith("results/second.yaml: rows[0]: warning:")
    assert "first row 'Row'" in warning and "15 tasks" in warning


def test_quiet_below_15_equal_tasks() -> None:
    a, b = _scores(14)
    assert _lineage_warnings(_catalog(_table("first", a), _table("second", b))) == []


def test_quiet_when_linked_directly() -> None:
    a, b = _scores(19)
    link = {"table": "first", "row": "Row", "basis": "digits-match", "evidence": "equal"}
    assert _lineage_warnings(_catalog(_table("first", a), _table("second", b, link))) == []


def test_quiet_when_both_copy_the_same_paper_row() -> None:
    a, b = _scores(19)
    link = {"paper": "vpt", "paper_table": "Table 1", "row": "Full [19]", "basis": "stated", "evidence": "cites VPT"}
    same = {**link, "row": "Full"}  # citation brackets do not make a different row
    catalog = _catalog(_table("first", a, link), _table("second", b, same))
    assert _lineage_warnings(catalog) == []
    [ref] = [r for r in lineage_groups(catalog) if r.table == "first"]
    assert [r.table for r in repeats(catalog, ref)] == ["second"]


def test_one_paper_row_label_on_other_benchmarks_or_backbones_is_not_a_repeat() -> None:
    # SPT prints a 'LoRA-8' row on VTAB-1k and on FGVC, on IN-21k and on MAE weights: four different numbers
    a, _ = _scores(19)
    fgvc = {t: 80.0 for t in CATALOG_DATA.benchmarks["fgvc"].task_ids()}
    link = {"paper": "spt", "row": "LoRA-8", "basis": "stated", "evidence": "cites SPT"}
    catalog = _catalog(_table("vtab", a, link), _table("vtab-mae", a, link, backbone="mae"),
                       _table("fgvc", fgvc, link, benchmark="fgvc"), _table("vtab-again", a, link))
    [ref] = [r for r in lineage_groups(catalog) if r.table == "vtab"]
    assert [r.table for r in repeats(catalog, ref)] == ["vtab-again"]


def test_a_link_to_a_missing_row_is_an_error() -> None:
    a, b = _scores(19)
    link = {"table": "first", "row": "Nope", "basis": "digits-match", "evidence": "equal"}
    errors = [str(p) for p in check_results(_catalog(_table("first", a), _table("second", b, link)))
              if p.severity == "error"]
    assert errors == ["results/second.yaml: rows[0].copied_from.row: 'Nope' is not a row label of first"]


def test_the_real_catalog_has_no_unlinked_copies() -> None:
    assert unlinked_copies(CATALOG_DATA) == []


def test_vpetl_rows_say_what_produced_them() -> None:
    for table_id in ("vpetl-bench-vtab-1k", "vpetl-bench-fgvc"):
        for row in CATALOG_DATA.results[table_id].rows:
            assert row.produced_by is not None, (table_id, row.label)
            assert (row.produced_by.kind == "copied") == (row.copied_from is not None), (table_id, row.label)
    vtab = {r.label: r for r in CATALOG_DATA.results["vpetl-bench-vtab-1k"].rows}
    # the audit: the SSF row's model file is a VPT-shallow copy, and its digits are Hydra's README row
    assert vtab["SSF"].copied_from is not None and vtab["SSF"].copied_from.table == "hydra-paper-vtab-1k-readme"
    assert vtab["SCT"].produced_by is not None and vtab["SCT"].produced_by.kind == "unknown"
