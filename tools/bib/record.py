"""One neutral citation record per paper, built from the typed catalog; every format is written from these."""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog.models import Catalog, MethodEntry, Paper
from .keys import CitationKeys, complete_keys, owner_of
from .names import Name
from .venues import Kind, venue_of


@dataclass(frozen=True)
class Record:
    key: str
    kind: Kind
    title: str
    authors: tuple[Name, ...] | None
    year: int | None
    container: str | None  # booktitle, journal, or for `other` how it was published
    arxiv: str | None
    doi: str | None
    url: str | None
    # what BibTeX sorts and labels by when the authors are unknown (its `key` field): the method's name
    sort_name: str | None = None


def _kind_and_container(paper: Paper) -> tuple[Kind, str | None]:
    venue = venue_of(paper.venue)
    if venue is not None and venue.kind != "preprint":
        return venue.kind, venue.full
    if venue is not None or (paper.venue is None and paper.arxiv):
        return ("preprint", None) if paper.arxiv else ("other", "arXiv")
    # `venue_full` is the source's wording, often with provenance notes, so it never goes into a citation
    return "other", paper.venue


def make_record(key: str, paper: Paper, name: str | None = None) -> Record:
    kind, container = _kind_and_container(paper)
    authors = tuple(paper.author_names()) if paper.authors else None
    return Record(key, kind, paper.title or "", authors, paper.year, container, paper.arxiv, paper.doi, paper.url,
                  None if authors else name)


class Keyring:
    """Keys for one export: the lock file read once, plus provisional keys for papers it lacks."""

    def __init__(self, catalog: Catalog, keys: CitationKeys | None = None) -> None:
        self.keys = keys if keys is not None else complete_keys(catalog)[0]

    def method(self, entry: MethodEntry) -> str:
        return self.keys.methods[entry.id]

    def reference(self, name: str) -> str:
        return self.keys.references[name]  # type: ignore[index]


def reference_records(catalog: Catalog, ring: Keyring | None = None) -> list[Record]:
    """The survey and its benchmark paper."""
    if catalog.taxonomy is None:
        return []
    ring = ring or Keyring(catalog)
    out = [make_record(ring.reference("survey"), catalog.taxonomy.survey)]
    if catalog.taxonomy.benchmark is not None:
        out.append(make_record(ring.reference("benchmark"), catalog.taxonomy.benchmark))
    return out


def method_records(catalog: Catalog, entries: list[MethodEntry], ring: Keyring | None = None) -> list[Record]:
    """One record per paper: a variant cites its owner's paper, and each paper appears once, in entry order."""
    ring = ring or Keyring(catalog)
    seen: set[str] = set()
    out: list[Record] = []
    for entry in entries:
        owner = owner_of(catalog, entry)
        if owner.id in seen:
            continue
        seen.add(owner.id)
        out.append(make_record(ring.method(owner), owner.paper, owner.name))
    return out


def catalog_records(catalog: Catalog, entries: list[MethodEntry] | None = None) -> list[Record]:
    """`entries=None`: the whole bibliography (survey, benchmark, every paper). A list: exactly those papers."""
    ring = Keyring(catalog)
    if entries is None:
        ordered = sorted(catalog.methods.values(), key=lambda m: m.id)
        return reference_records(catalog, ring) + method_records(catalog, ordered, ring)
    return method_records(catalog, entries, ring)
