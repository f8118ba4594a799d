"""Issue 15: names with their parts, venues in the usual spellings, exports that read right in real tools."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from vpeft.bib import export
from vpeft.bib.bibtex import bibtex_fields
from vpeft.bib.keys import follows_rule, key_owners, load_keys
from vpeft.bib.latex import encode_title
from vpeft.bib.record import Record
from vpeft.bib.venues import short_name
from vpeft.catalog.authors import parse_author
from vpeft.catalog.models import Catalog
from vpeft.catalog.service import check_catalog, valid_catalog
from vpeft.catalog.validate import validate
from vpeft.cli import main

from tests.conftest import CATALOG, entry_text

ACL_ANTHOLOGY = """
@inproceedings{ben-zaken-etal-2022-bitfit,
    title = "{B}it{F}it: Simple Parameter-efficient Fine-tuning for Transformer-based Masked Language-models",
    author = "Ben Zaken, Elad  and
      Goldberg, Yoav  and
      Ravfogel, Shauli",
    booktitle = "Proceedings of the 60th Annual Meeting of the Association for Computational Linguistics (Volume 2:
      Short Papers)",
    month = may,
    year = "2022",
    address = "Dublin, Ireland",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/2022.acl-short.1",
    doi = "10.18653/v1/2022.acl-short.1",
    pages = "1--9",
}
"""
DBLP = r"""
@inproceedings{DBLP:conf/eccv/JiaTCCBHL22,
  author       = {Menglin Jia and Luming Tang and Bor{-}Chun Chen and Claire Cardie and Serge J. Belongie and
                  Bharath Hariharan and Ser{-}Nam Lim},
  title        = {Visual Prompt Tuning},
  booktitle    = {Computer Vision - {ECCV} 2022 - 17th European Conference, Tel Aviv, Israel, October 23-27,
                  2022, Proceedings, Part {XXXIII}},
  series       = {Lecture Notes in Computer Science},
  volume       = {13693},
  pages        = {709--727},
  publisher    = {Springer},
  year         = {2022},
  url          = {https://doi.org/10.1007/978-3-031-19827-4\_41},
  doi          = {10.1007/978-3-031-19827-4\_41},
}
@article{DBLP:journals/corr/abs-2303-00690,
  author       = {Zeyinzi Jiang and Chaojie Mao},
  title        = {Rethinking Efficient Tuning Methods from a Unified Perspective},
  journal      = {CoRR},
  volume       = {abs/2303.00690},
  year         = {2023},
  eprinttype    = {arXiv},
  eprint       = {2303.00690},
}
"""
SCHOLAR = """
@inproceedings{houlsby2019parameter,
  title={Parameter-efficient transfer learning for NLP},
  author={Houlsby, Neil and Giurgiu, Andrei and Jastrzebski, Stanislaw},
  booktitle={International conference on machine learning},
  pages={2790--2799},
  year={2019},
  organization={PMLR}
}
"""
BITFIT = "BitFit: Simple Parameter-efficient Fine-tuning for Transformer-based Masked Language-models"
U_TUNING = "Rethinking Efficient Tuning Methods from a Unified Perspective"


def _import(capsys: pytest.CaptureFixture[str], root: Path, bib: Path) -> tuple[int, str, str]:
    code = main(["--catalog", str(root), "new", "--from-bibtex", str(bib), "--category", "adapter-tuning"])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("text", "want"), [
    (ACL_ANTHOLOGY, {BITFIT: (["Ben Zaken, Elad", "Goldberg, Yoav", "Ravfogel, Shauli"], "ACL", None)}),
    (DBLP, {"Visual Prompt Tuning": (["Jia, Menglin", "Tang, Luming", "Chen, Bor-Chun", "Cardie, Claire",
                                      "Belongie, Serge J.", "Hariharan, Bharath", "Lim, Ser-Nam"], "ECCV", None),
            U_TUNING: (["Jiang, Zeyinzi", "Mao, Chaojie"], "arXiv", "2303.00690")}),
    (SCHOLAR, {"Parameter-efficient transfer learning for NLP": (
        ["Houlsby, Neil", "Giurgiu, Andrei", "Jastrzebski, Stanislaw"], "ICML", None)}),
], ids=["acl-anthology", "dblp", "scholar"])
def test_import_keeps_names_and_venues(small_catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       text: str, want: dict[str, tuple[list[str], str, str | None]]) -> None:
    bib = tmp_path / "in.bib"
    bib.write_text(text, encoding="utf-8")
    code, _, err = _import(capsys, small_catalog, bib)
    assert code == 0, err
    catalog, problems = check_catalog(str(small_catalog), with_registry=False)
    assert [p for p in problems if p.severity == "error"] == []
    by_title = {m.paper.title: m.paper for m in catalog.methods.values()}
    for title, (authors, venue, arxiv) in want.items():
        paper = by_title[title]
        assert (paper.authors, paper.venue, paper.arxiv) == (authors, venue, arxiv)


def test_import_refuses_and_others_and_says_why_a_link_is_left_out(
        small_catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bib = tmp_path / "others.bib"
    bib.write_text("@article{x2023y, title={Y: A Thing}, author={Xin, Yi and others}, year={2023}}\n")
    code, out, err = _import(capsys, small_catalog, bib)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "entry 'x2023y': author: 'and others' leaves authors out" in err
    assert not (small_catalog / "methods" / "y.yaml").exists()
    bib.write_text("@misc{x2023y, title={Y: A Thing}, author={Xin, Yi}, year={2023}, url={http://example.org/y}}\n")
    code, _, err = _import(capsys, small_catalog, bib)
    assert code == 0, err
    notes = valid_catalog(str(small_catalog)).methods["y"].notes
    assert any("'http://example.org/y' is not https" in n for n in notes)


@pytest.mark.parametrize(("container", "short"), [
    ("Computer Vision - {ECCV} 2022 - 17th European Conference, Tel Aviv, Israel, Proceedings, Part {XXXIII}",
     "ECCV"),
    ("European conference on computer vision", "ECCV"),
    ("Proceedings of the 36th International Conference on Machine Learning, {ICML} 2019, Long Beach, {USA}", "ICML"),
    ("International conference on machine learning", "ICML"),
    ("Proceedings of the 60th Annual Meeting of the Association for Computational Linguistics (Volume 1: Long "
     "Papers), {ACL} 2022, Dublin, Ireland", "ACL"),
    ("Proceedings of the 16th Conference of the European Chapter of the Association for Computational "
     "Linguistics: Main Volume", "EACL"),
    ("Proceedings of the 2021 Conference on Empirical Methods in Natural Language Processing", "EMNLP"),
    ("Findings of the Association for Computational Linguistics: NAACL 2022", "NAACL Findings"),
    ("Findings of the Association for Computational Linguistics: ACL 2025", "ACL Findings"),
    ("Findings of the Association for Computational Linguistics: EMNLP 2021", None),  # not EMNLP's main track
    ("Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition Workshops", None),
    ("Advances in neural information processing systems", "NeurIPS"),
    ("CoRR", "arXiv"),
    ("Neural Networks", "Neural Networks"),
    ("Neural Netw.", None),
    ("IEEE Transactions on Neural Networks and Learning Systems", "TNNLS"),
    ("{IEEE} Trans. Neural Networks Learn. Syst.", "TNNLS"),
    ("SIGGRAPH 2024 Conference Papers", "SIGGRAPH"),
    ("{ECAI} 2024 - 27th European Conference on Artificial Intelligence", "ECAI"),
    ("{SIGGRAPH} Asia 2023 Conference Papers", "SIGGRAPH Asia"),
])
def test_venue_spellings(container: str, short: str | None) -> None:
    assert short_name(container) == short


def test_bitfit_first_author_is_ben_zaken(catalog: Catalog) -> None:
    """Both BibTeX readers split the exported name as stored; CSL-JSON and RIS carry the same parts."""
    entry = catalog.methods["bitfit"]
    text = export(catalog, "bibtex", [entry])
    fields = {f.key: f.value for f in bibtexparser.parse_string(text).entries[0].fields}
    first = parse_single_name_into_parts(split_multiple_persons_names(fields["author"])[0])
    assert (first.last, first.first) == (["Ben", "Zaken"], ["Elad"])
    csl = json.loads(export(catalog, "csl-json", [entry]))[0]
    assert csl["author"][0] == {"family": "Ben Zaken", "given": "Elad"}
    assert "AU  - Ben Zaken, Elad" in export(catalog, "ris", [entry]).splitlines()


@pytest.mark.parametrize(("title", "want"), [
    ("ST-Adapter: Parameter-Efficient Image-to-Video Transfer Learning",
     "{ST-Adapter}: Parameter-Efficient Image-to-Video Transfer Learning"),
    ("Prefix-Tuning: Optimizing Continuous Prompts for Generation",
     "{Prefix-Tuning}: Optimizing Continuous Prompts for Generation"),
    ("Visual Fourier Prompt Tuning", "Visual {Fourier} Prompt Tuning"),
    ("KronA: Parameter Efficient Tuning with Kronecker Adapter",
     "{KronA}: Parameter Efficient Tuning with {Kronecker} Adapter"),
    ("SAM-Adapter: Adapting Segment Anything in Underperformed Scenes",
     "{SAM-Adapter}: Adapting {Segment Anything} in Underperformed Scenes"),
    ("Aggregate, Decompose, and Fine-Tune: A Simple", "Aggregate, Decompose, and Fine-Tune: A Simple"),
])
def test_titles_keep_names_in_sentence_case_styles(title: str, want: str) -> None:
    assert encode_title(title) == want


def test_arxiv_only_papers_print_their_id_and_page_in_classic_styles() -> None:
    record = Record("x2023y", "preprint", "Y", None, 2023, None, "2303.00690", None,
                    "https://arxiv.org/abs/2303.00690")
    fields = dict(bibtex_fields(record))
    assert fields["howpublished"] == "arXiv:2303.00690"  # plain and ieeetr print howpublished and note
    assert fields["note"] == "https://arxiv.org/abs/2303.00690"
    assert (fields["eprint"], fields["archivePrefix"]) == ("2303.00690", "arXiv")  # biblatex's form
    assert "url" not in fields  # the same page once, not twice in natbib styles


def test_ris_and_csl_are_plain_unicode(catalog: Catalog) -> None:
    ris = export(catalog, "ris")
    csl = export(catalog, "csl-json")
    for text in (ris, csl):
        assert "\\ensuremath" not in text and "\\textasciicircum" not in text and "{\\" not in text
    assert "TI  - 5%>100%: Breaking Performance Shackles of Full Fine-Tuning on Visual Recognition Tasks" in ris
    types = {line[6:] for line in ris.splitlines() if line.startswith("TY  - ")}
    assert "CONF" in types and "CPAPER" not in types


def test_stored_names_are_family_first_everywhere(catalog: Catalog) -> None:
    assert catalog.taxonomy is not None
    papers = [catalog.taxonomy.survey, *(m.paper for m in catalog.methods.values())]
    for paper in papers:
        for name in paper.authors or []:
            parts = parse_author(name)
            assert name == parts.last_first()
    compound = {n.family for p in papers for n in p.author_names() if " " in n.family}
    # the compound family names, each checked on a page that writes the family name first (scripts/migrate_authors.py),
    # or, for a lowercase particle, split by that script's particle rule ("de Laroussilhe", "van den Hengel")
    assert compound == {"Ben Zaken", "Karimi Mahabadi", "Partovi Nia", "de Laroussilhe", "van den Hengel"}


def test_locked_keys_that_break_the_rule_are_explained(catalog: Catalog) -> None:
    keys = load_keys(catalog)
    locked = dict(keys.items())
    off_rule = {owner for owner, paper in key_owners(catalog) if owner in locked and not follows_rule(locked[owner],
                                                                                                        paper)}
    assert off_rule == set(keys.explained), "explain each locked key that the rule no longer gives, and only those"


def _arxiv_only(root: Path, checked: str | None) -> Catalog:
    text = entry_text().replace("venue: CVPR", "venue: arXiv")
    if checked:
        text = text.replace("  year: 2023\n", f"  year: 2023\n  venue_checked: '{checked}'\n")
    (root / "methods" / "alpha.yaml").write_text(text, encoding="utf-8")
    return valid_catalog(str(root))


@pytest.mark.parametrize(("today", "checked", "warns"), [
    (date(2023, 12, 31), None, False),  # posted January 2023: not a year yet
    (date(2024, 1, 1), None, True),
    (date(2024, 6, 1), "2024-03-01", False),  # someone looked three months ago
    (date(2025, 3, 1), "2024-03-01", True),
])
def test_arxiv_only_entries_older_than_a_year_warn(small_catalog: Path, today: date, checked: str | None,
                                                   warns: bool) -> None:
    catalog = _arxiv_only(small_catalog, checked)
    stale = [p for p in validate(catalog, today=today) if p.field == "paper.venue" and "arXiv-only" in p.message]
    assert [p.severity for p in stale] == (["warning"] if warns else []), (
        f"alpha.yaml, arXiv 2301.00001 (posted January 2023), checked {checked}, on {today}: "
        f"{'a' if warns else 'no'} stale-preprint warning expected; got {[p.message for p in stale]}")
    if warns:
        assert "posted 2023-01" in stale[0].message, f"the month comes from the arXiv id: {stale[0].message}"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return valid_catalog(str(CATALOG))
