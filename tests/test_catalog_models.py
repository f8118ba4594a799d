"""Field rules of the catalog models at their edges, and the taxonomy helpers the site and README use.

A rule that is off by one lets a wrong year, URL or arXiv id into the catalog; a helper that walks the tree
wrongly puts a method under the wrong heading.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import (
    MAX_YEAR,
    MIN_YEAR,
    Catalog,
    Lineage,
    Paper,
    Production,
    ResultRow,
    Setting,
    Source,
    Taxonomy,
)

from tests.conftest import CATALOG

REAL, _ = load_catalog(CATALOG)


def paper(**fields: Any) -> Paper:
    return Paper.model_validate({"title": "T", "authors": None, "venue": None, "year": None, **fields})


def message(**fields: Any) -> str:
    with pytest.raises(ValidationError) as exc:
        paper(**fields)
    return str(exc.value)


def test_years_from_min_to_max_are_accepted_and_one_past_either_end_refused() -> None:
    assert paper(year=MIN_YEAR).year == MIN_YEAR and paper(year=MAX_YEAR).year == MAX_YEAR
    for year in (MIN_YEAR - 1, MAX_YEAR + 1):
        assert f"must be between {MIN_YEAR} and {MAX_YEAR}" in message(year=year), f"year {year} must be refused"


@pytest.mark.parametrize("url", ["https://", "https://ex ample.org", "http://example.org", "example.org",
                                 " https://example.org/x\ty"])
def test_urls_must_be_well_formed_https(url: str) -> None:
    assert "https:// URL" in message(url=url), f"{url!r} must be refused"


def test_a_minimal_https_url_and_surrounding_spaces_are_fine() -> None:
    assert paper(url="https://a").url == "https://a"
    assert paper(url="  https://example.org/p  ").url == "https://example.org/p", "whitespace is stripped first"


@pytest.mark.parametrize(("arxiv", "ok"), [("2205.13535", True), ("1501.0001", True), ("2205.135351", False),
                                           ("2205.135", False), ("22051.3535", False), ("2205.13535v2", False)])
def test_arxiv_ids_are_new_style_without_version(arxiv: str, ok: bool) -> None:
    if ok:
        assert paper(arxiv=arxiv).arxiv == arxiv
    else:
        assert "new-style arXiv id" in message(arxiv=arxiv), f"{arxiv!r} must be refused"


@pytest.mark.parametrize(("doi", "ok"), [("10.1109/CVPR52729.2023.01234", True), ("10.1007/978-3-031-19827-4_41",
                                                                                     True),
                                         ("10.123/x", False), ("doi:10.1109/x", False), ("10.1109/", False)])
def test_dois_are_bare(doi: str, ok: bool) -> None:
    if ok:
        assert paper(doi=doi).doi == doi
    else:
        assert "must be a bare DOI" in message(doi=doi), f"{doi!r} must be refused"


def test_a_setting_value_needs_a_source_and_a_source_needs_a_url_or_section() -> None:
    assert Setting(value=None).value is None, "an unverified value is null and needs no source"
    with pytest.raises(ValidationError, match="a value needs a source"):
        Setting(value=0.1)
    assert Setting(value=0.1, source=Source(section="Table 7")).value == 0.1
    with pytest.raises(ValidationError, match="give a url or a section"):
        Source()
    assert Source(url="https://example.org/x").url == "https://example.org/x"


def test_result_rows_default_to_method_rows_and_refuse_negative_parameters() -> None:
    row = ResultRow(label="X", method="x", scores={})
    assert row.row_kind == "method" and row.params_m is None
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        ResultRow(label="X", method="x", scores={}, params_m=-0.1)
    assert ResultRow(label="X", method="x", scores={}, params_m=0).params_m == 0


def test_taxonomy_walk_leaves_and_paths() -> None:
    tax = REAL.taxonomy
    assert isinstance(tax, Taxonomy)
    walked = tax.walk()
    roots = [node.id for node, parents in walked if not parents]
    assert roots == [n.id for n in tax.nodes], "depth first, the top-level nodes in file order"
    leaf = tax.leaves()[0]
    path = tax.path(leaf.id)
    assert path[-1] is leaf and path[0].id in roots and all(p.children for p in path[:-1])
    assert not leaf.children and all(not n.children for n in tax.leaves())
    assert tax.path("no-such-node") == [] and tax.node("no-such-node") is None
    assert tax.node(roots[0]) is tax.nodes[0]


def test_methods_in_a_node_include_those_of_its_subtree() -> None:
    tax = REAL.taxonomy
    assert tax is not None
    top = tax.nodes[0]
    under = {m.id for m in REAL.methods_in(top.id)}
    leaves = {n.id for n, parents in tax.walk() if not n.children and top.id in parents}
    expected = {m.id for m in REAL.methods.values() if m.category in leaves}
    assert under == expected and under, f"{top.id}: the methods of every leaf below it"
    lora = REAL.method("lora")
    assert lora is not None and lora.id == "lora" and REAL.method("nope") is None
    assert Catalog(root="x", taxonomy=None).methods_in(top.id) == [], "no taxonomy: no methods under any node"


def test_benchmark_task_helpers() -> None:
    vtab = REAL.benchmarks["vtab-1k"]
    assert len(vtab.task_ids()) == 19
    natural = vtab.tasks_in("natural")
    assert natural and all(t.group == "natural" for t in vtab.tasks if t.id in natural)
    assert vtab.tasks_in("nowhere") == []


def test_a_lineage_may_record_that_no_task_score_matched_but_not_a_negative_count() -> None:
    """`tasks_equal: 0` is a fact worth storing (a stated copy whose digits all differ); -1 is a typo."""
    base = {"table": "t", "row": "LoRA", "basis": "stated", "evidence": "the caption says so"}
    assert Lineage.model_validate({**base, "tasks_equal": 0}).tasks_equal == 0, (
        "catalog/results/*.yaml: rows[].copied_from.tasks_equal 0 must be accepted (no task equal digit for digit)")
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        Lineage.model_validate({**base, "tasks_equal": -1})


@pytest.mark.parametrize("kind", ["copied", "not-own-code", "unknown"])
def test_only_an_own_code_production_needs_a_model_file(kind: str) -> None:
    """A benchmark row copied from another table has no model file to name; only own-code rows must give one."""
    assert Production(kind=kind, evidence="e").model_file is None, (
        f"catalog/results/*.yaml: rows[].produced_by.kind {kind!r} without model_file must be accepted")
    with pytest.raises(ValidationError, match="own-code needs `model_file`"):
        Production(kind="own-code", evidence="e")
