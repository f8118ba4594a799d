"""BibTeX, written through bibtexparser 2: @inproceedings, @article, or arXiv's own @misc form."""

from __future__ import annotations

import bibtexparser
from bibtexparser import model

from .latex import encode, encode_name, encode_title
from .record import Record

ENTRY_TYPES = {"conference": "inproceedings", "journal": "article", "preprint": "misc", "other": "misc"}
CONTAINER_FIELD = {"conference": "booktitle", "journal": "journal", "other": "howpublished"}


def _authors(record: Record) -> str | None:
    if not record.authors:
        return None
    names = [f"{encode_name(n.family)}, {encode_name(n.given)}" if n.given else encode_name(n.family)
             for n in record.authors]
    return " and ".join(names)


def _verbatim(value: str | None) -> str | None:
    if value is None:
        return None
    return encode(value) if any(c in value for c in "{}\\") else value


def _arxiv_page(record: Record) -> str | None:
    return f"https://arxiv.org/abs/{record.arxiv}" if record.arxiv else None


def _container(record: Record) -> tuple[str, str | None]:
    """booktitle, journal, or howpublished; an arXiv-only paper says "arXiv:ID" there, which classic styles
    (plain, ieeetr) print: they ignore eprint and url."""
    if record.kind == "preprint":
        return "howpublished", f"arXiv:{record.arxiv}" if record.arxiv else None
    return CONTAINER_FIELD.get(record.kind, ""), encode(record.container) if record.container else None


def bibtex_fields(record: Record) -> list[tuple[str, str]]:
    """The fields of one record in print order, values already LaTeX-encoded; unknown facts are left out."""
    preprint = record.kind == "preprint"
    # classic styles print `note`, never `url`: an arXiv preprint's page goes there (a bare arXiv URL has no TeX
    # special characters), and `url` is left out when it is that same page, so that natbib styles print it once
    page = _arxiv_page(record) if preprint else None
    fields: list[tuple[str, str | None]] = [
        ("author", _authors(record)),
        ("title", encode_title(record.title)),
        _container(record),
        ("year", str(record.year) if record.year else None),
        # DOIs, like URLs, are verbatim fields in biblatex and the doi package: "\_" would break the link.
        # Only a DOI with braces or a backslash (legal, but none in the catalog) needs encoding to keep the file valid.
        ("doi", _verbatim(record.doi)),
        # arXiv's own export: eprint + archivePrefix (primaryClass only when a source gave it: the catalog has none)
        ("eprint", record.arxiv),
        ("archivePrefix", "arXiv" if record.arxiv else None),
        ("note", page),
        ("url", None if page and record.url == page else record.url),
        # without authors BibTeX sorts and labels by `key` ("to sort, need author or key"; natbib's "ano")
        ("key", encode(record.sort_name) if record.sort_name else None),
    ]
    return [(name, value) for name, value in fields if name and value]


def to_entry(record: Record) -> model.Entry:
    fields = [model.Field(name, value) for name, value in bibtex_fields(record)]
    return model.Entry(ENTRY_TYPES[record.kind], record.key, fields)


def write_bibtex(records: list[Record]) -> str:
    library = bibtexparser.Library([to_entry(r) for r in records])
    fmt = bibtexparser.BibtexFormat()
    fmt.indent = "  "
    fmt.block_separator = "\n"
    return bibtexparser.write_string(library, bibtex_format=fmt)
