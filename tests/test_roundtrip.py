"""Loading and dumping entries is stable: dump(load(x)) loads to the same model, and dumping twice is a no-op."""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import MethodEntry
from vpeft.catalog.stub import entry_text
from vpeft.catalog.yamlio import read_yaml

from tests.conftest import CATALOG

ENTRIES = sorted((CATALOG / "methods").glob("*.yaml"))


@pytest.mark.parametrize("path", ENTRIES, ids=[p.stem for p in ENTRIES])
def test_entry_round_trip(path: Path, tmp_path: Path) -> None:
    entry = MethodEntry.model_validate(read_yaml(path, str(path)))
    text = entry_text(entry)
    copy = tmp_path / path.name
    copy.write_text(text, encoding="utf-8")
    again = MethodEntry.model_validate(read_yaml(copy, str(copy)))
    assert again == entry
    assert entry_text(again) == text


def test_catalog_files_are_in_canonical_form() -> None:
    """Entries are kept in the form `vpeft new` writes, so machine edits give small diffs."""
    catalog, problems = load_catalog(CATALOG)
    assert not problems, "the catalog does not load; run `vpeft validate` and fix:\n" + "\n".join(map(str, problems))
    stale = [path for path in ENTRIES if path.read_text(encoding="utf-8") != entry_text(catalog.methods[path.stem])]
    names = " ".join(str(p.relative_to(CATALOG.parent)) for p in stale)
    assert not stale, f"not in canonical form: {names}; run `vpeft fmt {names}` (it keeps every value)"
