"""Author names as the catalog stores them: "Family, Given" ("Ben Zaken, Elad"), or one word for a single name.

Why this form: a full name in reading order cannot be split safely ("Elad Ben Zaken" has the family name
"Ben Zaken", "Chen Change Loy" has "Loy"), and every citation format needs the parts. The comma is the same
convention BibTeX, RIS and ACL Anthology use, so a name is written once, by someone who checked it, and every
export reads the parts instead of guessing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

AUTHOR_PATTERN = r"^[^,\s][^,]*, [^,\s][^,]*$|^[^,\s]+$"
AUTHOR_HELP = "must be 'Family, Given' (e.g. 'Ben Zaken, Elad'), or one word for a single name"
# words a citation manager writes for "more authors not listed": never a person
NOT_A_NAME = {"others", "et al", "et al."}


@dataclass(frozen=True)
class Name:
    given: str
    family: str

    def last_first(self) -> str:
        return f"{self.family}, {self.given}" if self.given else self.family

    def reading_order(self) -> str:
        return f"{self.given} {self.family}" if self.given else self.family


def parse_author(text: str) -> Name:
    """The parts of a stored name; raises ValueError with AUTHOR_HELP when it is not in the stored form."""
    family, comma, given = (" ".join(part.split()) for part in text.partition(","))
    if "," in given or not family or (comma and not given) or (not comma and " " in family):
        raise ValueError(AUTHOR_HELP)
    if family.lower() in NOT_A_NAME or given.lower() in NOT_A_NAME:
        raise ValueError(f"'{text}' is not a person ('and others' is not an author; list every author)")
    return Name(given, family)


PARTICLES = {"da", "de", "del", "della", "der", "den", "di", "do", "dos", "du", "la", "le", "ten", "ter", "van",
             "von", "zu"}


def from_reading_order(full: str) -> str:
    """A guess for a name given in reading order (the arXiv API's "Elad Ben Zaken"): the last word, with lowercase
    particles before it, is the family name. Wrong for compound family names, so callers say it must be checked."""
    words = full.split()
    if len(words) <= 1:
        return full.strip()
    start = len(words) - 1
    while start > 1 and words[start - 1] in PARTICLES:
        start -= 1
    return f"{' '.join(words[start:])}, {' '.join(words[:start])}"


def _canonical(text: str) -> str:
    return parse_author(text).last_first()


AuthorName = Annotated[
    str,
    AfterValidator(_canonical),
    WithJsonSchema({"type": "string", "pattern": AUTHOR_PATTERN,
                    "description": "'Family, Given' as the paper prints the family name, e.g. 'Ben Zaken, Elad'."}),
]
