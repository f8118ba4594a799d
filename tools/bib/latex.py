"""Text -> LaTeX for BibTeX fields: special characters escaped, accents as commands, acronyms brace-protected."""

from __future__ import annotations

import re

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


def encode(text: str) -> str:
    """Plain text as a LaTeX string that BibTeX reads back as the same text."""
    return _ENCODER.unicode_to_latex(" ".join(text.split()))


def _protected_part(part: str, hyphenated: bool) -> str:
    core = part.strip(".,:;!?()[]\"'")
    if not core:
        return encode(part)
    lone_capital = hyphenated and len(core) == 1 and core.isupper()
    if _PROTECT.search(core) or lone_capital:
        start = part.index(core)
        return encode(part[:start]) + "{" + encode(core) + "}" + encode(part[start + len(core):])
    return encode(part)


def encode_title(title: str) -> str:
    """A title for BibTeX: every word that must keep its case (ViT, LoRA, V-PETL) sits in braces."""
    words = []
    for word in title.split():
        parts = word.split("-")
        words.append("-".join(_protected_part(p, len(parts) > 1) for p in parts))
    return re.sub(r"-(?=-)", "-{}", " ".join(words))


def encode_name(part: str) -> str:
    """A name part for a BibTeX author list: ' and ' and commas inside a name would split it, so brace them."""
    text = encode(part)
    words = []
    for word in text.split(" "):
        words.append("{" + word + "}" if word.lower() == "and" or "," in word else word)
    return " ".join(words)
