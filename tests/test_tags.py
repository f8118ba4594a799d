"""The tag vocabulary (catalog/tags.yaml): every entry's tags are its names, and validate rejects any other."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.validate import validate
from vpeft.cli import main

from tests.conftest import CATALOG


def test_every_real_tag_is_in_the_vocabulary_once() -> None:
    catalog, problems = load_catalog(CATALOG)
    assert not [p for p in problems if p.severity == "error"] and catalog.tags is not None
    for kind in ("applications", "design"):
        names = catalog.tags.names(kind)
        folded = [m.lower() for t in getattr(catalog.tags, kind) for m in [t.name, *t.merged]]
        assert len(folded) == len(set(folded)), f"a spelling appears twice in tags.yaml {kind}"
        used = {t for m in catalog.methods.values() for t in getattr(m.tags, kind)}
        assert used <= set(names), sorted(used - set(names))
    assert not [p for p in validate(catalog) if p.field.startswith("tags.")]


def _tagged(small_catalog: Path, tag: str) -> Path:
    shutil.copy(CATALOG / "tags.yaml", small_catalog / "tags.yaml")
    path = small_catalog / "methods" / "alpha.yaml"
    text = path.read_text(encoding="utf-8")
    old = "  applications: [Image Classification]\n"
    assert old in text
    path.write_text(text.replace(old, f"  applications: [{tag}]\n"), encoding="utf-8")
    return small_catalog


@pytest.mark.parametrize(("tag", "says"), [
    ("Image Recognition", "use 'Image Classification'"),  # a merged spelling points at its name
    ("image classification", "use 'Image Classification'"),
    ("Underwater Basket Weaving", "add it to tags.yaml first"),
])
def test_a_tag_outside_the_vocabulary_fails_validate(small_catalog: Path, capsys: pytest.CaptureFixture[str],
                                                     tag: str, says: str) -> None:
    root = _tagged(small_catalog, tag)
    assert main(["--catalog", str(root), "validate"]) != 0
    err = capsys.readouterr()
    line = next(x for x in (err.out + err.err).splitlines() if "tags.applications[0]" in x)
    assert "alpha.yaml" in line and f"'{tag}'" in line and says in line


def test_a_vocabulary_tag_passes(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tagged(small_catalog, "Image Classification")
    assert main(["--catalog", str(root), "validate"]) == 0
