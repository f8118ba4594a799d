"""The real catalog: valid, complete, and every result row tied to an entry or clearly marked."""

from __future__ import annotations

from vpeft.catalog.service import check_catalog

from tests.conftest import CATALOG

CATALOG_DATA, PROBLEMS = check_catalog(str(CATALOG))


def test_catalog_has_no_errors() -> None:
    errors = [str(p) for p in PROBLEMS if p.severity == "error"]
    assert errors == []


def test_every_leaf_is_populated() -> None:
    assert CATALOG_DATA.taxonomy is not None
    for leaf in CATALOG_DATA.taxonomy.leaves():
        assert CATALOG_DATA.methods_in(leaf.id), leaf.id


def test_catalog_holds_the_survey_methods() -> None:
    assert len(CATALOG_DATA.methods) >= 116


def test_result_rows_are_mapped_or_marked() -> None:
    rows = [row for table in CATALOG_DATA.results.values() for row in table.rows]
    assert rows
    for row in rows:
        if row.row_kind == "method":
            assert row.method in CATALOG_DATA.methods
        else:
            assert row.method is None
            assert row.row_kind == "baseline" or row.note
