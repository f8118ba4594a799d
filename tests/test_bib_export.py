"""Exports of the real catalog: both BibTeX parsers agree, CSL-JSON is valid and renders, RIS is complete."""

from __future__ import annotations

import pytest
from vpeft.bib import bibliography_files, bibtex_entry, citation_key, export, select_entries
from vpeft.bib.keys import owner_of
from vpeft.catalog.models import Catalog
from vpeft.catalog.service import valid_catalog

from tests.bib_checks import bibtex_both, check_csl, ris_records
from tests.conftest import CATALOG


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return valid_catalog(str(CATALOG))


def _papers(catalog: Catalog) -> int:
    return sum(1 for m in catalog.methods.values() if m.variant_of is None) + 2  # + survey and benchmark


def test_whole_bibtex_parses_in_both_parsers(catalog: Catalog) -> None:
    entries = bibtex_both(export(catalog, "bibtex"))
    assert len(entries) == _papers(catalog)
    survey_key = next(iter(entries))
    assert "2402.02242" in entries[survey_key][1]["eprint"]
    assert entries[citation_key(catalog, catalog.methods["adaptformer"])][0] == "inproceedings"


def test_entry_types_follow_the_venue(catalog: Catalog) -> None:
    entries = bibtex_both(export(catalog, "bibtex"))
    for entry in catalog.methods.values():
        kind, fields = entries[citation_key(catalog, entry)]
        venue = owner_of(catalog, entry).paper.venue
        if venue in {"CVPR", "NeurIPS", "ICLR", "ECCV"}:
            assert kind == "inproceedings" and fields["booktitle"], entry.id
        elif venue in {"IJCV", "TMM", "TCSVT", "TMLR"}:
            assert kind == "article" and fields["journal"], entry.id
        elif venue == "arXiv":
            assert kind == "misc" and fields["archiveprefix"] == "arXiv" and fields["eprint"], entry.id
            assert "primaryclass" not in fields  # no source in the catalog gives the arXiv category
        elif venue is None and owner_of(catalog, entry).paper.arxiv is None:
            assert kind == "misc" and "howpublished" not in fields, entry.id  # venue_full notes stay out


def test_authors_doi_and_protected_acronyms(catalog: Catalog) -> None:
    _, lora = bibtex_both(bibtex_entry(catalog, catalog.methods["lora"]))["hu2022lora"]
    assert lora["author"].startswith("Hu, Edward J. and Shen, Yelong and ")
    assert lora["title"].startswith("{LoRA}: Low-Rank Adaptation")
    # DOIs stay verbatim (biblatex reads doi as a verbatim field), underscores included (VPT's)
    with_doi = [m for m in catalog.methods.values() if m.paper.doi and m.variant_of is None]
    assert any("_" in m.paper.doi for m in with_doi)  # type: ignore[operator]
    for entry in with_doi:
        _, fields = next(iter(bibtex_both(bibtex_entry(catalog, entry)).values()))
        assert fields["doi"] == entry.paper.doi


def test_variant_cites_its_paper_once(catalog: Catalog) -> None:
    vpt = catalog.methods["vpt"]
    assert bibtex_entry(catalog, catalog.methods["vpt-deep"]) == bibtex_entry(catalog, vpt)
    chosen = select_entries(catalog, None, ["vpt", "vpt-deep", "vpt-shallow"])
    assert list(bibtex_both(export(catalog, "bibtex", chosen))) == [citation_key(catalog, vpt)]


@pytest.mark.parametrize("node", ["adapter-tuning", "prompt-tuning", "partial-based", "multi-task-tuning"])
def test_category_export_holds_exactly_its_entries(catalog: Catalog, node: str) -> None:
    expected = {citation_key(catalog, m) for m in catalog.methods_in(node)}
    assert expected
    assert set(bibtex_both(export(catalog, "bibtex", select_entries(catalog, node)))) == expected
    assert {r["ID"][0] for r in ris_records(export(catalog, "ris", select_entries(catalog, node)))} == expected


def test_csl_json_is_valid_and_renders(catalog: Catalog) -> None:
    rendered = check_csl(export(catalog, "csl-json"))
    assert len(rendered) == _papers(catalog)
    assert any("AdaptFormer: Adapting Vision Transformers" in line and "Chen, S." in line for line in rendered)


def test_ris_has_required_tags(catalog: Catalog) -> None:
    records = ris_records(export(catalog, "ris"))
    assert len(records) == _papers(catalog)
    by_id = {r["ID"][0]: r for r in records}
    adaptformer = by_id["chen2022adaptformer"]
    assert adaptformer["TY"] == ["CONF"] and adaptformer["PY"] == ["2022"] and adaptformer["AU"][0] == "Chen, Shoufa"


def test_bibliography_files_for_the_site(catalog: Catalog) -> None:
    files = bibliography_files(catalog)
    assert {"vpeft.bib", "vpeft.json", "vpeft.ris", "adapter-tuning.bib", "addition-based.ris"} <= set(files)
    assert len(bibtex_both(files["vpeft.bib"])) == _papers(catalog)
    expected = {citation_key(catalog, m) for m in catalog.methods_in("side-tuning")}
    assert set(bibtex_both(files["side-tuning.bib"])) == expected
