"""`vpeft bib`: formats, selections, -o without overwriting, one-line errors; CITATION.cff in sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from vpeft.bib.cff import cff_text
from vpeft.bib.venues import VENUES, short_name
from vpeft.catalog.service import valid_catalog
from vpeft.cli import main

from tests.bib_checks import bibtex_both, check_csl, ris_records
from tests.conftest import CATALOG, ROOT


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_bib_formats_on_stdout(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(small_catalog)
    code, out, err = run(capsys, "--catalog", root, "bib")
    assert code == 0 and len(bibtex_both(out)) == 4  # survey, benchmark, alpha, beta
    assert "4 paper(s) have no locked citation key yet" in err  # the small catalog has no lock file
    assert run(capsys, "--catalog", root, "bib", "--update-keys")[0] == 0
    code, out, err = run(capsys, "--catalog", root, "bib")
    assert code == 0 and err == "" and "@inproceedings{lovelace2023alpha," in out
    code, out, _ = run(capsys, "--catalog", root, "bib", "--format", "csl-json", "--method", "beta")
    assert code == 0 and [i["title"] for i in json.loads(out)] == ["Beta: Another Test Adapter"]
    check_csl(out)
    code, out, _ = run(capsys, "--catalog", root, "bib", "--format", "ris", "--category", "adapter-tuning")
    assert code == 0 and [r["ID"][0] for r in ris_records(out)] == ["lovelace2023alpha", "lovelace2023beta"]


def test_output_file_is_never_overwritten_without_force(small_catalog: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.bib"
    target.write_text("mine")
    code, out, err = run(capsys, "--catalog", str(small_catalog), "bib", "-o", str(target))
    assert code == 2 and out == "" and "already exists (use --force" in err and target.read_text() == "mine"
    assert run(capsys, "--catalog", str(small_catalog), "bib", "-o", str(target), "--force")[0] == 0
    assert len(bibtex_both(target.read_text())) == 4


@pytest.mark.parametrize(("argv", "message"), [
    (["--category", "nope"], "vpeft: error: --category: unknown node 'nope'"),
    (["--method", "alpha", "nope"], "vpeft: error: --method: unknown method 'nope'"),
    (["--format", "cff", "--method", "alpha"], "vpeft: error: --format cff:"),
])
def test_bad_options_are_one_line(small_catalog: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                  message: str) -> None:
    code, out, err = run(capsys, "--catalog", str(small_catalog), "bib", *argv)
    assert code == 2 and out == ""
    assert err.startswith(message) and len(err.strip().splitlines()) == 1


def test_unknown_format_is_refused(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--catalog", str(small_catalog), "bib", "--format", "endnote"])
    assert exit_info.value.code == 2 and "invalid choice: 'endnote'" in capsys.readouterr().err


def test_citation_cff_is_current_and_cites_the_survey() -> None:
    catalog = valid_catalog(str(CATALOG))
    committed = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert committed == cff_text(catalog), "CITATION.cff is stale: run `vpeft bib --format cff -o CITATION.cff --force`"
    data = yaml.safe_load(committed)
    assert {"cff-version", "message", "title", "authors"} <= set(data)
    preferred = data["preferred-citation"]
    assert preferred["title"] == catalog.taxonomy.survey.title  # type: ignore[union-attr]
    assert preferred["authors"][0] == {"family-names": "Xin", "given-names": "Yi"}
    assert len(preferred["authors"]) == len(catalog.taxonomy.survey.authors or [])  # type: ignore[union-attr]
    assert data["references"][0]["title"].startswith("V-PETL Bench")


def test_venue_table_reads_its_own_names_back() -> None:
    for short, venue in VENUES.items():
        if venue.kind != "preprint":
            assert short_name(venue.full) == short
    workshop = "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV) Workshops, 2023"
    assert short_name(workshop) == "ICCVW"
    assert short_name("Advances in Neural Information Processing Systems 35") == "NeurIPS"
    assert short_name("Some Other Venue") is None
