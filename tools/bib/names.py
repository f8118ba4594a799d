"""Person names: the catalog writes full names in reading order ("Bruce X.B. Yu"); citations need parts.

Rule (documented in `docs`-less form here because it is the only place it lives): the family name is the last
word, together with any lowercase particles before it ("Ludwig van Beethoven" -> "van Beethoven"). Names
written family-first in the source cannot be told apart and are split the same way.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

PARTICLES = {"da", "de", "del", "della", "der", "den", "di", "do", "dos", "du", "la", "le", "ten", "ter", "van",
             "von", "zu"}


@dataclass(frozen=True)
class Name:
    given: str
    family: str

    def last_first(self) -> str:
        return f"{self.family}, {self.given}" if self.given else self.family


def split_name(full: str) -> Name:
    words = full.split()
    if len(words) <= 1:
        return Name("", full.strip())
    start = len(words) - 1
    while start > 1 and words[start - 1] in PARTICLES:
        start -= 1
    return Name(" ".join(words[:start]), " ".join(words[start:]))


def ascii_fold(text: str) -> str:
    """Lowercase ASCII letters and digits only, accents dropped (for citation keys)."""
    special = {"ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l",
               "đ": "d", "Đ": "d", "ı": "i"}
    text = "".join(special.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text.lower() if c.isascii() and c.isalnum())
