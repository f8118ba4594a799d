"""`vpeft validate` is the contributor's gate: a stub straight from `vpeft new` fails it, naming each field to
fill and how; once filled (and keyed), it passes with nothing else to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from vpeft.cli import main


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.strip().splitlines()


@pytest.fixture
def small_catalog(small_catalog: Path) -> Path:
    """The small catalog with its citation keys locked, as the real one has them."""
    assert main(["--catalog", str(small_catalog), "bib", "--update-keys"]) == 0
    return small_catalog


def test_a_fresh_stub_fails_validate_naming_what_to_fill(small_catalog: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalog", str(small_catalog), "new", "dora", "--category", "reparameter-tuning",
                 "--arxiv", "2402.09353"]) == 0
    capsys.readouterr()
    assert main(["--catalog", str(small_catalog), "validate"]) == 1
    file = f"{small_catalog}/methods/dora.yaml"
    lines = _lines(capsys)
    fields = [line.removeprefix(f"{file}: ").split(":")[0] for line in lines]
    assert fields == ["paper.authors", "paper.title", "paper.venue", "paper.year", "summary"], lines
    odd = [line for line in lines if not (line.startswith(file) and "empty: " in line)]
    assert odd == [], f"every line names {file}, the field, and says it is empty and how to fill it"
    assert "a note that mentions the author" in lines[0]
    assert "in your own words" in lines[-1]


def test_the_filled_stub_passes_after_its_key_is_locked(small_catalog: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    main(["--catalog", str(small_catalog), "new", "dora", "--category", "reparameter-tuning", "--arxiv", "2402.09353"])
    path = small_catalog / "methods" / "dora.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["paper"].update(title="DoRA: Weight-Decomposed Low-Rank Adaptation", authors=["Lovelace, Ada"],
                         venue="ICML", year=2024)
    data["summary"] = "Splits each frozen weight into magnitude and direction and tunes both."
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["--catalog", str(small_catalog), "validate"]) == 1
    assert _lines(capsys) == [f"{small_catalog}/citation-keys.yaml: dora: no citation key yet; "
                              "run `vpeft bib --update-keys`"]
    assert main(["--catalog", str(small_catalog), "bib", "--update-keys"]) == 0
    assert main(["--catalog", str(small_catalog), "fmt", str(path)]) == 0
    capsys.readouterr()
    assert main(["--catalog", str(small_catalog), "validate"]) == 0
    assert main(["--catalog", str(small_catalog), "validate", "--strict"]) == 1  # the small catalog's empty leaves
    assert [line for line in _lines(capsys) if "methods/" in line] == []


def test_a_null_fact_with_a_note_is_listed_by_strict_and_fails_nothing(small_catalog: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = small_catalog / "methods" / "alpha.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["paper"]["venue"] = None
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["--catalog", str(small_catalog), "validate"]) == 1
    assert "paper.venue: empty:" in _lines(capsys)[0]
    data["notes"] = ["No venue found: the arXiv page and the README name none (checked 2026-11)."]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["--catalog", str(small_catalog), "validate"]) == 0
    main(["--catalog", str(small_catalog), "validate", "--strict"])
    listed = [line for line in _lines(capsys) if "methods/" in line]
    assert listed == [f"{path}: paper.venue: note: not verified yet (null; the notes say why)"]


def test_a_long_venue_name_fails_validate_with_the_short_list(small_catalog: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A BibTeX booktitle pasted into `venue` is refused with the list to choose from and where the long form goes."""
    path = next((small_catalog / "methods").glob("*.yaml"))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["paper"]["venue"] = "Proceedings of the 41st International Conference on Foo"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["--catalog", str(small_catalog), "validate"]) == 1
    lines = [line for line in _lines(capsys) if "paper.venue" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: paper.venue: 'Proceedings of the 41st")
    assert "CVPR" in lines[0] and "NeurIPS" in lines[0] and "arXiv" in lines[0] and "venue_full" in lines[0]


def test_every_short_venue_of_the_real_catalog_is_in_the_list() -> None:
    """The controlled list covers the catalog, and the bibliography can expand each of its names."""
    from vpeft.bib.venues import VENUES, short_venues
    from vpeft.catalog.loader import load_catalog

    catalog, _ = load_catalog("catalog")
    used = {m.paper.venue for m in catalog.methods.values() if m.paper.venue}
    assert used <= set(short_venues()), sorted(used - set(short_venues()))
    assert set(short_venues()) == set(VENUES)
