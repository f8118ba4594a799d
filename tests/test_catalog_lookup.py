"""Which registry method a catalog name points to (`vpeft params NAME`, `vpeft reproduce NAME`).

A wrong answer trains or counts a different method than the one the user named, so each way of naming an entry
(its id, its display name, an alias, any spelling of those) must reach that entry's `implementation`, and a name
that reaches no implementation must give None (the command then treats it as a registry id).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.catalog.lookup import implementation_of
from vpeft.catalog.models import Catalog
from vpeft.catalog.service import valid_catalog

from tests.conftest import entry_text


@pytest.fixture
def catalog(small_catalog: Path) -> Catalog:
    methods = small_catalog / "methods"
    alpha = entry_text().replace("aliases: []", "aliases: [Alpha-Deep, ALP]") + "implementation: lora\n"
    (methods / "alpha.yaml").write_text(alpha)
    # beta has no implementation; gamma has its own, reached by its alias Zeta
    gamma = entry_text("gamma", "Gamma", "Gamma: A Third Adapter", "2301.00003").replace(
        "aliases: []", "aliases: [Zeta]") + "implementation: ssf\n"
    (methods / "gamma.yaml").write_text(gamma)
    return valid_catalog(str(small_catalog))


@pytest.mark.parametrize("name", ["alpha", "Alpha", "Alpha-Deep", "alpha deep", "ALPHA_DEEP", "alp"])
def test_every_spelling_of_an_entrys_id_name_or_alias_finds_its_implementation(catalog: Catalog,
                                                                              name: str) -> None:
    assert implementation_of(catalog, name) == "lora", (
        f"{name!r} names catalog/methods/alpha.yaml (id, name or alias, any case or punctuation): its "
        "implementation `lora` must be found, or `vpeft params/reproduce` counts or trains another method")


def test_names_of_different_entries_find_their_own_implementation(catalog: Catalog) -> None:
    assert implementation_of(catalog, "Zeta") == "ssf", "gamma.yaml's alias Zeta names gamma's implementation"
    assert implementation_of(catalog, "gamma") == "ssf"


@pytest.mark.parametrize("name", ["beta", "Beta", "unknown-method", "alph", ""])
def test_a_name_without_an_implementation_finds_none(catalog: Catalog, name: str) -> None:
    assert implementation_of(catalog, name) is None, (
        f"{name!r}: no catalog entry with an implementation has this id, name or alias (beta.yaml has no "
        "implementation field): the answer must be None, not some other entry's implementation")


def test_without_a_catalog_nothing_is_found() -> None:
    assert implementation_of(None, "lora") is None, "no catalog folder: the name is used as a registry id as it is"
