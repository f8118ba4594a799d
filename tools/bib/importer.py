"""BibTeX -> catalog entry stubs (`vpeft new --from-bibtex FILE --category LEAF`).

Each entry becomes one stub: title, authors ("Family, Given", split where the entry splits them), year, venue,
arXiv id, DOI and URL filled from the entry; summary, tags and code stay empty for the contributor. The id is the
title's lead before a colon when it is a short name ("AdaptFormer: Adapting ..." -> adaptformer), otherwise the
citation key. Everything is checked before anything is written, so a file with one bad or already-catalogued
paper writes nothing. Venue names in DBLP, ACL Anthology and Google Scholar spellings map to the catalog's short
venue (venues.py); "and others" is refused (it hides authors).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import bibtexparser
from bibtexparser import model
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from pydantic import ValidationError
from pylatexenc.latex2text import LatexNodes2Text

from ..catalog.errors_text import problems_from
from ..catalog.models import ID_RE, Catalog, MethodEntry, Paper
from ..catalog.stub import already_held
from ..catalog.validate import normalise_title
from ..errors import UserError
from .venues import short_name

ARXIV_IN_TEXT = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d.])")
ARXIV_FIELDS = ("eprint", "url", "journal", "note", "howpublished", "booktitle")
_TEXT = LatexNodes2Text(strict_latex_spaces=True)


@dataclass(frozen=True)
class Imported:
    key: str  # the BibTeX citation key, to name the entry in messages
    entry: MethodEntry


@contextmanager
def _quiet_parser() -> Iterator[None]:
    # bibtexparser logs each bad block as a multi-line warning; we report one line ourselves
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_bibtex(path: Path) -> list[model.Entry]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read file: {exc.strerror}") from None
    with _quiet_parser():
        library = bibtexparser.parse_string(text)
    if library.failed_blocks:
        first = library.failed_blocks[0]
        reason = str(first.error).splitlines()[0] if str(first.error) else "syntax error"
        raise UserError(f"{path}: not valid BibTeX: line {first.start_line + 1}: {reason} "
                        f"({len(library.failed_blocks)} bad block(s))")
    if not library.entries:
        raise UserError(f"{path}: no BibTeX entries found")
    return list(library.entries)


# Text commands that pylatexenc drops or turns into look-alikes (ˆ for ^): decoded by us, through placeholders
# in Unicode's private use area so that the LaTeX decoder never sees the literal characters.
_LITERALS = {"textasciicircum": "^", "textasciitilde": "~", "textbraceleft": "{", "textbraceright": "}",
             "textbackslash": "\\"}
_LITERAL_RE = re.compile(r"\\(" + "|".join(_LITERALS) + r")(?![A-Za-z])(\{\})?")
_PLACEHOLDER = {name: chr(0xE000 + i) for i, name in enumerate(_LITERALS)}


def plain(value: str) -> str:
    """A BibTeX field value as plain text: LaTeX decoded, protective braces gone, spaces folded."""
    marked = _LITERAL_RE.sub(lambda m: _PLACEHOLDER[m.group(1)], value)
    text = _TEXT.latex_to_text(marked)
    for name, mark in _PLACEHOLDER.items():
        text = text.replace(mark, _LITERALS[name])
    return " ".join(text.split())


def _authors(value: str | None, where: str) -> list[str] | None:
    """Names in the catalog's "Family, Given" form, split where the BibTeX says ("Ben Zaken, Elad" keeps its
    family name "Ben Zaken"; "Elad Ben Zaken" is split by BibTeX's own rule, at the last word)."""
    if not value:
        return None
    names = []
    for person in split_multiple_persons_names(value):
        if person.strip().lower() == "others":
            raise UserError(f"{where}: author: 'and others' leaves authors out; list every author "
                            "(the paper's own page has them)")
        parts = parse_single_name_into_parts(person)
        family = plain(" ".join(parts.von + parts.last + parts.jr))
        given = plain(" ".join(parts.first))
        names.append(f"{family}, {given}" if family and given else family or given)
    return [n for n in names if n] or None


def find_arxiv(fields: dict[str, str]) -> str | None:
    for name in ARXIV_FIELDS:
        value = fields.get(name, "")
        if name == "url" and "arxiv.org" not in value:
            continue
        if name in {"journal", "note", "howpublished", "booktitle"} and "arxiv" not in value.lower():
            continue
        if match := ARXIV_IN_TEXT.search(value):
            return match.group(1)
    return None


def _venue(fields: dict[str, str], arxiv: str | None) -> tuple[str | None, str | None]:
    container = plain(fields.get("booktitle") or fields.get("journal") or fields.get("howpublished") or "")
    short = short_name(container) if container else None
    if container and "arxiv" not in container.lower() and short != "arXiv":  # DBLP's CoRR is arXiv
        return short or container, container
    return ("arXiv" if arxiv or container else None), None


def _year(fields: dict[str, str], where: str) -> int | None:
    text = plain(fields.get("year", ""))
    if not text:
        return None
    if not re.fullmatch(r"\d{4}", text):
        raise UserError(f"{where}: year: must be a four-digit year, found '{text}'")
    return int(text)


def _doi(value: str | None) -> str | None:
    if not value:
        return None
    return re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", plain(value), flags=re.IGNORECASE)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _id_and_name(title: str, key: str) -> tuple[str, str]:
    lead = title.split(":", 1)[0].strip() if ":" in title else ""
    if lead and len(lead.split()) <= 3 and re.match(ID_RE, _slug(lead)):
        return _slug(lead), lead
    return _slug(key), _slug(key)


def to_entry(entry: model.Entry, category: str, where: str) -> MethodEntry:
    fields = {f.key.lower(): str(f.value) for f in entry.fields}
    title = plain(fields.get("title", ""))
    if not title:
        raise UserError(f"{where}: title: missing; every entry needs a title")
    arxiv = find_arxiv(fields)
    venue, venue_full = _venue(fields, arxiv)
    url = plain(fields.get("url", "")).split()
    doi = _doi(fields.get("doi"))
    # the entry's own https link, else the arXiv page, else the DOI resolver: all derived from the entry
    derived = f"https://arxiv.org/abs/{arxiv}" if arxiv else (f"https://doi.org/{doi}" if doi else None)
    link = url[0] if url and url[0].startswith("https://") else derived
    notes = [f"Stub imported from BibTeX entry '{entry.key}': check every field against the paper's page."]
    if url and not url[0].startswith("https://"):
        # the catalog links https only: say so instead of dropping the entry's link silently
        notes.append(f"The BibTeX url '{url[0]}' is not https and was left out: find the paper's https page.")
    method_id, name = _id_and_name(title, entry.key)
    try:
        paper = Paper(title=title, authors=_authors(fields.get("author"), where), venue=venue, venue_full=venue_full,
                      year=_year(fields, where), arxiv=arxiv, doi=doi, url=link)
        return MethodEntry(
            id=method_id, name=name, paper=paper, category=category, summary=None, added=date.today(),
            notes=notes,
            sources=[link] if link else [],
        )
    except ValidationError as exc:
        problem = problems_from(exc, where)[0]
        raise UserError(str(problem)) from None


def _free_id(catalog: Catalog, stub: MethodEntry, taken: set[str]) -> str:
    """The stub's id, or if an entry or file has it already, the id with the year, then a number, appended."""
    def free(candidate: str) -> bool:
        path = Path(catalog.root) / "methods" / f"{candidate}.yaml"
        return candidate not in taken and candidate not in catalog.methods and not path.exists()

    candidates = [stub.id] + ([f"{stub.id}-{stub.paper.year}"] if stub.paper.year else [])
    n = 2
    while not any(free(c) for c in candidates):
        candidates.append(f"{stub.id}-{n}")
        n += 1
    return next(c for c in candidates if free(c))


def import_bibtex(catalog: Catalog, path: Path, category: str) -> list[Imported]:
    """Stubs for every entry of `path`; refuses (one line, nothing written) a paper the catalog or the file
    already holds. Nothing is overwritten: a taken id gets the year (then a number) appended."""
    out: list[Imported] = []
    for raw in read_bibtex(path):
        where = f"{path}: entry '{raw.key}'"
        stub = to_entry(raw, category, where)
        if (held := already_held(catalog, stub)) is not None:
            raise UserError(f"{where}: the catalog already holds this paper as '{held}' "
                            f"({catalog.files.get(f'methods/{held}', held)})")
        for earlier in out:
            same_arxiv = stub.paper.arxiv is not None and stub.paper.arxiv == earlier.entry.paper.arxiv
            same_title = normalise_title(stub.paper.title or "") == normalise_title(earlier.entry.paper.title or "")
            if same_arxiv or same_title:
                raise UserError(f"{where}: the same paper as entry '{earlier.key}' of this file")
        stub.id = _free_id(catalog, stub, {i.entry.id for i in out})
        out.append(Imported(raw.key, stub))
    return out
