"""Property tests: names and titles with odd characters survive every format."""

from __future__ import annotations

import os
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pylatexenc.latex2text import LatexNodes2Text
from vpeft.bib.bibtex import write_bibtex
from vpeft.bib.csl import write_csl
from vpeft.bib.importer import plain
from vpeft.bib.latex import encode_name, encode_title
from vpeft.bib.names import Name
from vpeft.bib.record import Record
from vpeft.bib.ris import write_ris

from tests.bib_checks import bibtex_both, check_csl, ris_records

# TeX specials, braces, quotes, accents, ligatures, CJK, right-to-left letters, BibTeX's own "and" and ","
ODD = "&%$#_{}~^\\@,;:\"'`()[]<>/|*!?=+-–—…«»‘’“”ßØøÆæŒœŁłĞğİıÅåÇçÑñÜüÖöÉéÈèÂâčšžǅﬁΩλ中文한국어עברית "
GENTLE = "abcXYZ019 &%$#_,.:'`-ÉéüÖøØßçñå"

words = st.text(alphabet=ODD + "abcdefXYZ", min_size=1, max_size=12).filter(lambda w: w.strip())
particles = st.sampled_from(["and", "AND", "van", "de", "Jr.,"])
names = st.lists(st.one_of(words, particles), min_size=1, max_size=3).map(" ".join).filter(lambda n: n.strip())
titles = st.lists(st.one_of(words, st.sampled_from(["ViT", "LoRA", "CLIP", "and", "AND", "3D", "V-PETL"])),
                  min_size=1, max_size=8).map(" ".join)
gentle_titles = st.text(alphabet=GENTLE, min_size=1, max_size=40).filter(lambda t: t.strip())


def _name(text: str) -> Name:
    """Test data: the last word is the family name, the rest the given names (any characters in either)."""
    words = text.split()
    return Name(" ".join(words[:-1]), words[-1])


def _record(title: str, authors: list[str], kind: str) -> Record:
    return Record("odd2024key", kind, title, tuple(_name(a) for a in authors), 2024,  # type: ignore[arg-type]
                  None if kind == "preprint" else "Venue & Co", "2401.00001", None, "https://example.org/a?b=1&c=%20")


KINDS = st.sampled_from(["conference", "journal", "preprint", "other"])
# VPEFT_BIB_EXAMPLES=1500 searches longer (about 3 minutes); the default keeps the suite fast
EXAMPLES = int(os.environ.get("VPEFT_BIB_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(title=titles, authors=st.lists(names, min_size=1, max_size=4), kind=KINDS)
def test_bibtex_parses_the_same_in_both_parsers(title: str, authors: list[str], kind: str) -> None:
    entries = bibtex_both(write_bibtex([_record(title, authors, kind)]))
    _, fields = entries["odd2024key"]
    assert fields["author"].count(" and ") == len(authors) - 1
    assert fields["url"] == "https://example.org/a?b=1&c=%20"


@SETTINGS
@given(title=gentle_titles, author=st.text(alphabet=GENTLE, min_size=1, max_size=20).filter(lambda a: a.strip()))
def test_bibtex_title_decodes_back(title: str, author: str) -> None:
    _, fields = bibtex_both(write_bibtex([_record(title, [author], "conference")]))["odd2024key"]
    decoded = LatexNodes2Text(strict_latex_spaces=True).latex_to_text(fields["title"])
    assert decoded == " ".join(title.split())


@SETTINGS
@given(title=titles, authors=st.lists(names, min_size=1, max_size=4), kind=KINDS)
def test_csl_json_validates_and_renders(title: str, authors: list[str], kind: str) -> None:
    check_csl(write_csl([_record(title, authors, kind)]))


@SETTINGS
@given(title=titles, authors=st.lists(names, min_size=1, max_size=4), kind=KINDS)
def test_ris_keeps_one_record(title: str, authors: list[str], kind: str) -> None:
    (record,) = ris_records(write_ris([_record(title, authors, kind)]))
    assert record["TI"] == [" ".join(title.split())]
    assert len(record["AU"]) == len(authors)


@SETTINGS
@given(title=titles, name=names)
def test_import_decodes_what_export_encodes(title: str, name: str) -> None:
    # compatibility characters (the ligature ﬁ) may come back as their plain letters: compare in NFKC
    def same(text: str) -> str:
        return unicodedata.normalize("NFKC", " ".join(text.split()))

    assert same(plain(encode_title(title))) == same(title)
    assert same(plain(encode_name(name))) == same(name)
