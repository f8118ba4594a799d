"""`source.read_in`: where a table's digits were read when that is not its `url` page (a full-text copy of the paper
whose repository cannot be named). It is typed, listed by `results list`, and shown, escaped, wherever the site names
a table's source: the table's board, the per-method board cell and the method page."""

from __future__ import annotations

import pytest
from markupsafe import escape
from pydantic import ValidationError
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import Catalog, Provenance
from vpeft.catalog.result_rows import records
from vpeft.site.render import leaderboard_page, method_pages

from tests.conftest import CATALOG

READ_IN = "full-text copy <script>alert('x')</script> (file id 123)"
TABLE = "vfpt-paper-fgvc"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    data, _ = load_catalog(CATALOG)
    table = data.results[TABLE]
    source = table.source.model_copy(update={"read_in": READ_IN})
    results = {**data.results, TABLE: table.model_copy(update={"source": source})}
    return data.model_copy(update={"results": results})


def test_read_in_is_optional_text() -> None:
    base = {"name": "X", "kind": "paper", "url": "https://arxiv.org/abs/2411.01800", "table": "Table 1"}
    assert Provenance(**base).read_in is None
    assert Provenance(**base, read_in="a copy").read_in == "a copy"
    with pytest.raises(ValidationError):
        Provenance(**base, read_in="")


def test_results_list_carries_read_in(catalog: Catalog) -> None:
    rows = records(catalog, benchmark="fgvc")
    assert {r.read_in for r in rows if r.table == TABLE} == {READ_IN}
    assert all(r.read_in is None for r in rows if r.table != TABLE and not catalog.results[r.table].source.read_in)


def test_the_leaderboard_shows_read_in_escaped(catalog: Catalog) -> None:
    page = leaderboard_page(catalog, catalog.benchmarks["fgvc"], {})
    assert "<script>alert" not in page
    shown = f"Digits read in: {escape(READ_IN)}"
    assert shown in page  # the table's own board
    # the per-method board cell of a VFPT row: a short mark, the whole text on hover
    assert f'title="digits read in: {escape(READ_IN)}">digits read in a copy</abbr>' in page


def test_the_method_page_shows_read_in_escaped(catalog: Catalog) -> None:
    page = method_pages(catalog, {}, {}, None, {})["method/vfpt.md"]
    assert "<script>alert" not in page
    assert f'title="digits read in: {escape(READ_IN)}">digits read in a copy</abbr>' in page
