"""One-off migration (issue 15): author names from reading order ("Elad Ben Zaken") to "Family, Given".

Run once from the repository root: `python scripts/migrate_authors.py`. It rewrites only the lines of
`authors:` lists in catalog/taxonomy.yaml and catalog/methods/*.yaml (comments and layout stay), and leaves a name
that already has a comma alone, so a second run changes nothing.

The split is the last word, with lowercase particles ("Quentin de Laroussilhe" -> "de Laroussilhe, Quentin"),
except the compound family names below, each checked against the source named beside it. After the run every
name of three or more words was read again by hand (see the commit message and issue 15's report).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml
from vpeft.catalog.authors import from_reading_order

# full name in reading order -> (family, given); each checked on 2026-11-30 in BibTeX that writes the family first
COMPOUND = {
    # ACL Anthology's page of the paper (2022.acl-short.1, the entry's source) cites it "(Ben Zaken et al., ACL
    # 2022)"; Bar-Ilan's CRIS page hyphenates the same family name ("Ben-Zaken")
    "Elad Ben Zaken": ("Ben Zaken", "Elad"),
    # the survey authors' Awesome list for Compacter itself, and the author's own README BibTeX of his ACL 2021 and
    # 2022 papers: "Karimi Mahabadi, Rabeeh"
    "Rabeeh Karimi Mahabadi": ("Karimi Mahabadi", "Rabeeh"),
    # not for KronA itself: PMLR's BibTeX of the ENLSP 2024 workshop proceedings (editor list) and a co-authored
    # README's BibTeX (arXiv 2105.05146) both write "Partovi Nia, Vahid"
    "Vahid Partovi Nia": ("Partovi Nia", "Vahid"),
}
ITEM = re.compile(r"^(\s*)- (.+?)\s*$")
AUTHORS = re.compile(r"^(\s*)authors:\s*$")


def family_first(full: str) -> str:
    if full in COMPOUND:
        family, given = COMPOUND[full]
        return f"{family}, {given}"
    return full if "," in full else from_reading_order(full)


def _scalar(value: str) -> str:
    """The YAML text of a plain string: unquoted when that reads back the same, else single-quoted."""
    if yaml.safe_load(value) == value and not value.startswith(("'", '"')):
        return value
    return "'" + value.replace("'", "''") + "'"


def migrate_text(text: str) -> str:
    out: list[str] = []
    in_authors: int | None = None
    for line in text.splitlines(keepends=True):
        item = ITEM.match(line)
        if in_authors is not None and item and len(item.group(1)) >= in_authors:
            name = yaml.safe_load(item.group(2))
            out.append(f"{item.group(1)}- {_scalar(family_first(name))}\n")
            continue
        in_authors = None
        if match := AUTHORS.match(line):
            in_authors = len(match.group(1))
        out.append(line)
    return "".join(out)


def main(root: Path) -> int:
    files = [root / "taxonomy.yaml", *sorted((root / "methods").glob("*.yaml"))]
    changed = 0
    for path in files:
        before = path.read_text(encoding="utf-8")
        after = migrate_text(before)
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed += 1
    print(f"{changed} file(s) migrated")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("catalog")))
