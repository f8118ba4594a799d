"""Names in citations: which words are the family name, and how names become citation-key letters.

A wrong split shows in every export: "Beethoven, Ludwig van" instead of "van Beethoven, Ludwig", or a key
`beethoven...` where the rule says `vanbeethoven...`.
"""

from __future__ import annotations

import pytest
from vpeft.bib.keys import base_key, title_word
from vpeft.bib.names import Name, ascii_fold, split_name
from vpeft.catalog.models import Paper


@pytest.mark.parametrize(("full", "given", "family"), [
    ("Bruce X.B. Yu", "Bruce X.B.", "Yu"),
    ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
    ("Jean de la Fontaine", "Jean", "de la Fontaine"),
    ("Maria del Carmen Ruiz", "Maria del Carmen", "Ruiz"),
    ("Otto von Bismarck", "Otto", "von Bismarck"),
    ("Dick Van Dyke", "Dick Van", "Dyke"),  # a capitalised "Van" is part of the given names by the rule
    ("van Gogh", "van", "Gogh"),  # at least one given word stays, even if it is a particle
    ("Plato", "", "Plato"),
    ("  Plato ", "", "Plato"),
])
def test_family_name_is_the_last_word_with_its_lowercase_particles(full: str, given: str, family: str) -> None:
    assert split_name(full) == Name(given, family), f"{full!r} should split as given={given!r}, family={family!r}"


def test_last_first_puts_the_family_name_with_its_particles_first() -> None:
    assert split_name("Ludwig van Beethoven").last_first() == "van Beethoven, Ludwig"
    assert split_name("Plato").last_first() == "Plato", "no given name: no comma"


@pytest.mark.parametrize(("text", "folded"), [
    ("Müller", "muller"), ("Straße", "strasse"), ("Søren Ørsted", "sorenorsted"), ("Łukasz Łoś", "lukaszlos"),
    ("Æsir Œuvre", "aesiroeuvre"), ("Đorđe", "dorde"), ("Işık", "isik"), ("ViT-22B", "vit22b"), ("", ""),
])
def test_ascii_fold_keeps_lowercase_ascii_letters_and_digits(text: str, folded: str) -> None:
    assert ascii_fold(text) == folded


def paper(authors: list[str] | None, year: int | None, title: str | None) -> Paper:
    return Paper(title=title, authors=authors, venue=None, year=year)


@pytest.mark.parametrize(("authors", "year", "title", "key"), [
    (["Shoufa Chen", "Chongjian Ge"], 2022, "AdaptFormer: Adapting Vision Transformers", "chen2022adaptformer"),
    (["Ludwig van Beethoven"], 2020, "On the Symphony", "vanbeethoven2020symphony"),
    (["Zhou Müller"], 2021, "Parameter-Efficient Tuning", "muller2021parameter"),
    (["Ana Li"], 2023, "V-PETL Bench", "li2023vpetl"),
    (["Ana Li"], 2023, "A/B Testing of the Prompt", "li2023b"),
    (None, 2023, "Gamma", "anon2023gamma"),
    (["Ana Li"], None, "Gamma", "li2023gamma".replace("2023", "nd")),
    (["Ana Li"], 2023, None, "li2023"),
    (["Ana 3Li"], 2023, "Gamma", "li2023gamma"),  # a family name folded to digits first loses them
])
def test_base_key_is_family_year_first_meaningful_title_word(authors: list[str] | None, year: int | None,
                                                             title: str | None, key: str) -> None:
    assert base_key(paper(authors, year, title)) == key


def test_title_word_skips_stopwords_and_one_letter_hyphen_parts() -> None:
    assert title_word("Towards a Unified View") == "unified"
    assert title_word("The Power of Scale") == "power"
    assert title_word("X-Adapter for Vision") == "xadapter", "a one-letter first part keeps the whole word"
    assert title_word("Side-Tuning") == "side"
    assert title_word("On the of") == "", "only stopwords: no title word"
