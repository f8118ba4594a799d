"""Names in citations: which words are the family name, and how names become citation-key letters.

A wrong split shows in every export: "Beethoven, Ludwig van" instead of "van Beethoven, Ludwig", or a key
`beethoven...` where the rule says `vanbeethoven...`.
"""

from __future__ import annotations

import pytest
from vpeft.bib.keys import base_key, title_word
from vpeft.bib.names import ascii_fold
from vpeft.catalog.authors import Name, from_reading_order, parse_author
from vpeft.catalog.models import Paper


@pytest.mark.parametrize(("full", "stored"), [
    ("Bruce X.B. Yu", "Yu, Bruce X.B."),
    ("Ludwig van Beethoven", "van Beethoven, Ludwig"),
    ("Jean de la Fontaine", "de la Fontaine, Jean"),
    ("Maria del Carmen Ruiz", "Ruiz, Maria del Carmen"),
    ("Otto von Bismarck", "von Bismarck, Otto"),
    ("Dick Van Dyke", "Dyke, Dick Van"),  # a capitalised "Van" is part of the given names by the rule
    ("van Gogh", "Gogh, van"),  # at least one given word stays, even if it is a particle
    ("Plato", "Plato"),
    ("  Plato ", "Plato"),
])
def test_a_reading_order_name_guesses_the_last_word_with_its_lowercase_particles(full: str, stored: str) -> None:
    """`vpeft new --fetch` gets names in reading order from arXiv: the guess it writes (and asks to check)."""
    assert from_reading_order(full) == stored, f"{full!r} should be stored as {stored!r}"


def test_stored_names_give_their_parts_in_both_orders() -> None:
    name = parse_author("van Beethoven, Ludwig")
    assert name == Name("Ludwig", "van Beethoven")
    assert name.last_first() == "van Beethoven, Ludwig" and name.reading_order() == "Ludwig van Beethoven"
    assert parse_author("Plato").last_first() == "Plato", "no given name: no comma"


@pytest.mark.parametrize(("text", "folded"), [
    ("Müller", "muller"), ("Straße", "strasse"), ("Søren Ørsted", "sorenorsted"), ("Łukasz Łoś", "lukaszlos"),
    ("Æsir Œuvre", "aesiroeuvre"), ("Đorđe", "dorde"), ("Işık", "isik"), ("ViT-22B", "vit22b"), ("", ""),
])
def test_ascii_fold_keeps_lowercase_ascii_letters_and_digits(text: str, folded: str) -> None:
    assert ascii_fold(text) == folded


def paper(authors: list[str] | None, year: int | None, title: str | None) -> Paper:
    return Paper(title=title, authors=authors, venue=None, year=year)


@pytest.mark.parametrize(("authors", "year", "title", "key"), [
    (["Chen, Shoufa", "Ge, Chongjian"], 2022, "AdaptFormer: Adapting Vision Transformers", "chen2022adaptformer"),
    (["van Beethoven, Ludwig"], 2020, "On the Symphony", "vanbeethoven2020symphony"),
    (["Müller, Zhou"], 2021, "Parameter-Efficient Tuning", "muller2021parameter"),
    (["Li, Ana"], 2023, "V-PETL Bench", "li2023vpetl"),
    (["Li, Ana"], 2023, "A/B Testing of the Prompt", "li2023b"),
    (None, 2023, "Gamma", "anon2023gamma"),
    (["Li, Ana"], None, "Gamma", "li2023gamma".replace("2023", "nd")),
    (["Li, Ana"], 2023, None, "li2023"),
    (["3Li, Ana"], 2023, "Gamma", "li2023gamma"),  # a family name folded to digits first loses them
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
