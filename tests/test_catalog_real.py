"""The real catalog: valid, complete, and every result row tied to an entry or clearly marked."""

from __future__ import annotations

from vpeft.catalog.service import check_catalog

from tests.conftest import CATALOG

CATALOG_DATA, PROBLEMS = check_catalog(str(CATALOG))


def test_catalog_has_no_errors() -> None:
    errors = [str(p) for p in PROBLEMS if p.severity == "error"]
    assert errors == [], "the catalog has errors; `vpeft validate` lists them:\n" + "\n".join(errors)


def test_every_leaf_is_populated() -> None:
    assert CATALOG_DATA.taxonomy is not None, f"{CATALOG}/taxonomy.yaml did not load; run `vpeft validate`"
    for leaf in CATALOG_DATA.taxonomy.leaves():
        assert CATALOG_DATA.methods_in(leaf.id), (
            f"{CATALOG}/taxonomy.yaml: leaf '{leaf.id}' has no methods; add an entry with category: {leaf.id}")


def test_catalog_holds_the_survey_methods() -> None:
    assert len(CATALOG_DATA.methods) >= 116, (
        f"{CATALOG}/methods holds {len(CATALOG_DATA.methods)} entries; the survey lists 116: was an entry removed?")


def test_result_rows_are_mapped_or_marked() -> None:
    rows = [row for table in CATALOG_DATA.results.values() for row in table.rows]
    assert rows, f"{CATALOG}/results holds no result rows"
    for table in CATALOG_DATA.results.values():
        for i, row in enumerate(table.rows):
            where = f"{CATALOG}/results/{table.id}.yaml: rows[{i}] ({row.label})"
            if row.row_kind == "method":
                assert row.method in CATALOG_DATA.methods, f"{where}: method '{row.method}' is no catalog entry"
            else:
                assert row.method is None, f"{where}: a {row.row_kind} row must have method: null"
                assert row.row_kind == "baseline" or row.note, f"{where}: an unidentified row needs a note saying why"
