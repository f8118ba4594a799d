"""`vpeft new --from-bibtex`: stubs from BibTeX that validate, refusals as one line, nothing overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from vpeft.bib import export
from vpeft.bib.importer import find_arxiv
from vpeft.bib.venues import VENUES
from vpeft.catalog.service import check_catalog, valid_catalog
from vpeft.cli import main

from tests.conftest import CATALOG

NEW = r"""
@inproceedings{muller2024fancy,
  title = {{FancyTune}: Tuning {ViT}s with M{\"u}ller's {\&} Co. Trick},
  author = {M{\"u}ller, J{\"o}rg and van der Berg, Anna and Zhang, Wei},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year = {2024},
  doi = {https://doi.org/10.1109/CVPR52733.2024.00001}
}
@article{lee2023other,
  title = {Another Paper on Prompts},
  author = {Lee, Kim},
  journal = {arXiv preprint arXiv:2310.12345},
  year = {2023}
}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _import(capsys: pytest.CaptureFixture[str], root: Path, bib: Path) -> tuple[int, str, str]:
    return run(capsys, "--catalog", str(root), "new", "--from-bibtex", str(bib), "--category", "adapter-tuning")


def test_import_writes_valid_stubs(small_catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bib = tmp_path / "new.bib"
    bib.write_text(NEW, encoding="utf-8")
    code, out, _ = _import(capsys, small_catalog, bib)
    assert code == 0 and "2 stub(s)" in out
    catalog, problems = check_catalog(str(small_catalog), with_registry=False)
    assert [p for p in problems if p.severity == "error"] == []
    fancy = catalog.methods["fancytune"]
    assert fancy.name == "FancyTune" and fancy.category == "adapter-tuning"
    assert fancy.paper.title == "FancyTune: Tuning ViTs with Müller's & Co. Trick"
    assert fancy.paper.authors == ["Müller, Jörg", "van der Berg, Anna", "Zhang, Wei"]
    assert (fancy.paper.venue, fancy.paper.year, fancy.paper.doi) == ("CVPR", 2024, "10.1109/CVPR52733.2024.00001")
    other = catalog.methods["lee2023other"]
    assert (other.paper.arxiv, other.paper.venue, other.paper.url) == (
        "2310.12345", "arXiv", "https://arxiv.org/abs/2310.12345")
    # the same file again: refused with one line, nothing rewritten
    before = (small_catalog / "methods" / "fancytune.yaml").read_text()
    code, out, err = _import(capsys, small_catalog, bib)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "entry 'muller2024fancy': the catalog already holds this paper as 'fancytune'" in err
    assert (small_catalog / "methods" / "fancytune.yaml").read_text() == before


def test_import_refuses_a_held_arxiv_id_and_writes_nothing(small_catalog: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bib = tmp_path / "held.bib"
    bib.write_text(NEW + "@misc{dup, title={Other Title}, eprint={2301.00002}, archivePrefix={arXiv}, year={2023}}\n")
    code, _, err = _import(capsys, small_catalog, bib)
    assert code == 2 and "entry 'dup': the catalog already holds this paper as 'beta'" in err
    assert sorted(p.stem for p in (small_catalog / "methods").iterdir()) == ["alpha", "beta"]


@pytest.mark.parametrize("text", ["@article{broken, title = {no end}", "just prose, no entries", ""])
def test_bad_bibtex_is_one_line_naming_the_file(small_catalog: Path, tmp_path: Path, text: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bib = tmp_path / "bad.bib"
    bib.write_text(text)
    code, out, err = _import(capsys, small_catalog, bib)
    assert code == 2 and out == ""
    assert err.startswith(f"vpeft: error: {bib}: ") and len(err.strip().splitlines()) == 1


def test_import_options(small_catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _import(capsys, small_catalog, tmp_path / "missing.bib")
    assert code == 2 and "missing.bib: file not found" in err
    code, _, err = run(capsys, "--catalog", str(small_catalog), "new", "x", "--from-bibtex", "f.bib",
                       "--category", "adapter-tuning")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "--catalog", str(small_catalog), "new", "--category", "adapter-tuning")
    assert code == 2 and "ID: missing" in err


@pytest.mark.parametrize(("fields", "expected"), [
    ({"eprint": "2205.13535"}, "2205.13535"),
    ({"url": "https://arxiv.org/pdf/2205.13535v3"}, "2205.13535"),
    ({"journal": "arXiv preprint arXiv:2205.13535"}, "2205.13535"),
    ({"note": "arXiv:2205.13535v2"}, "2205.13535"),
    ({"url": "https://example.org/2205.13535"}, None),
    ({"journal": "Journal 2205.13535"}, None),
])
def test_arxiv_detection(fields: dict[str, str], expected: str | None) -> None:
    assert find_arxiv(fields) == expected


def test_whole_catalog_round_trips_through_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Our own BibTeX, imported into an empty catalog, gives back every paper's facts."""
    catalog = valid_catalog(str(CATALOG))
    bib = tmp_path / "all.bib"
    owners = [m for m in catalog.methods.values() if m.variant_of is None]
    bib.write_text(export(catalog, "bibtex", owners), encoding="utf-8")
    empty = tmp_path / "catalog"
    (empty / "methods").mkdir(parents=True)
    shutil.copy(CATALOG / "taxonomy.yaml", empty / "taxonomy.yaml")
    code, _, err = _import(capsys, empty, bib)
    assert code == 0, err
    back = valid_catalog(str(empty))
    assert len(back.methods) == len(owners)
    by_title = {m.paper.title: m.paper for m in back.methods.values()}
    for entry in owners:
        got, want = by_title[entry.paper.title], entry.paper
        assert (got.authors, got.year, got.arxiv, got.doi) == (want.authors, want.year, want.arxiv, want.doi), entry.id
        if want.venue in VENUES:  # every venue of the table comes back from its own booktitle or journal
            assert got.venue == want.venue, entry.id
