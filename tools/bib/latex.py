"""Text -> LaTeX for BibTeX fields: special characters escaped, accents as commands, acronyms brace-protected."""

from __future__ import annotations

import re
from functools import lru_cache

from pylatexenc.latexencode import RULE_REGEX, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

# BibTeX counts braces even when escaped, so a lone `\\{` would unbalance the field: use text commands.
_EXTRA = [
    (re.compile(r"\{"), r"\\textbraceleft{}"),
    (re.compile(r"\}"), r"\\textbraceright{}"),
    # TeX ligatures ("--" an en dash, "``" a curly quote, ...): a {} between keeps the characters
    (re.compile(r"-(?=-)"), "-{}"),
    (re.compile(r"`(?=`)"), "`{}"),
    (re.compile(r"'(?=')"), "'{}"),
    (re.compile(r"([?!])(?=`)"), r"\1{}"),  # ?` and !` are the inverted marks
    (re.compile(r"([<>,])(?=\1)"), r"\1{}"),  # << >> ,, are guillemets and a low quote in T1 fonts
    # pylatexenc writes a straight double quote as '' (a closing curly quote in TeX); keep it straight
    (re.compile(r'"'), '{"}'),
]
_ENCODER = UnicodeToLatexEncoder(
    conversion_rules=[UnicodeToLatexConversionRule(RULE_REGEX, _EXTRA), "defaults"],
    non_ascii_only=False,
    replacement_latex_protection="braces-all",
    unknown_char_policy="keep",
    unknown_char_warning=False,
)
# A word part that a sentence-case style must not lowercase: a capital after the first letter (ViT, LoRA, CLIP),
# or letters mixed with digits (3D, ResNet50).
_PROTECT = re.compile(r"^.+[A-Z]|[0-9].*[A-Za-z]|[A-Za-z].*[0-9]")


@lru_cache(maxsize=65536)  # a site build encodes each name and title for every page and export format
def encode(text: str) -> str:
    """Plain text as a LaTeX string that BibTeX reads back as the same text."""
    return _ENCODER.unicode_to_latex(" ".join(text.split()))


# Proper nouns that are ordinary capitalised words (a person, a model's name): a sentence-case style would
# lowercase them ("fourier", "segment anything"). Phrases are matched word by word, case as written here.
PROPER_NOUNS = (("Segment", "Anything"), ("Tokenize", "Anything"), ("Fourier",), ("Kronecker",))
_PUNCT = ".,:;!?()[]\"'"


def _needs_braces(part: str, hyphenated: bool) -> bool:
    core = part.strip(_PUNCT)
    lone_capital = hyphenated and len(core) == 1 and core.isupper()
    return bool(core) and (bool(_PROTECT.search(core)) or lone_capital)


def _braced(word: str) -> str:
    """`word` with its letters in one brace group, leading and trailing punctuation outside."""
    core = word.strip(_PUNCT)
    if not core:
        return encode(word)
    start = word.index(core)
    return encode(word[:start]) + "{" + encode(core) + "}" + encode(word[start + len(core):])


def _encode_word(word: str) -> str:
    """A hyphenated word with one part that keeps its case keeps it whole ("ST-Adapter", "CLIP-Adapter")."""
    parts = word.split("-")
    if any(_needs_braces(p, len(parts) > 1) for p in parts):
        return _braced(word)
    return encode(word)


def _lead_length(words: list[str]) -> int:
    """Words of the title's lead before a colon when it is a short name ("Prefix-Tuning:", "One-for-All:")."""
    for i, word in enumerate(words[:3]):
        if word.endswith(":") or (i + 1 < len(words) and words[i + 1] == ":"):
            return i + 1
    return 0


def _proper_noun_at(words: list[str], i: int) -> int:
    for phrase in PROPER_NOUNS:
        got = [w.strip(_PUNCT) for w in words[i:i + len(phrase)]]
        if tuple(got) == phrase:
            return len(phrase)
    return 0


def encode_title(title: str) -> str:
    """A title for BibTeX: every word that must keep its case (ViT, LoRA, ST-Adapter, Fourier, the method's name
    before the colon) sits in braces, so sentence-case styles (plain, ieeetr, plainnat) print it as written."""
    words = title.split()
    lead = _lead_length(words)
    out: list[str] = []
    i = 0
    while i < len(words):
        span = _proper_noun_at(words, i)
        if span:
            out.append(_braced(" ".join(words[i:i + span])))
            i += span
            continue
        word = words[i]
        out.append(_braced(word) if i < lead and word != ":" else _encode_word(word))
        i += 1
    return re.sub(r"-(?=-)", "-{}", " ".join(out))


def encode_name(part: str) -> str:
    """A name part for a BibTeX author list: ' and ' and commas inside a name would split it, so brace them."""
    text = encode(part)
    words = []
    for word in text.split(" "):
        words.append("{" + word + "}" if word.lower() == "and" or "," in word else word)
    return " ".join(words)
