"""New catalog entries: a valid stub to fill in, written in the catalog's canonical YAML form."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..errors import UserError
from .models import Catalog, MethodEntry, Paper
from .schema import METHOD_HEADER
from .validate import normalise_title
from .yamlio import dump_yaml


def entry_text(entry: MethodEntry) -> str:
    data = entry.model_dump(mode="json", exclude_defaults=False)
    return dump_yaml(data, METHOD_HEADER)


def stub(method_id: str, category: str, arxiv: str | None = None, name: str | None = None) -> MethodEntry:
    url = f"https://arxiv.org/abs/{arxiv}" if arxiv else None
    return MethodEntry(
        id=method_id,
        name=name or method_id,
        paper=Paper(title=None, authors=None, venue=None, year=None, arxiv=arxiv, url=url),
        category=category,
        summary=None,
        added=date.today(),
        sources=[url] if url else [],
    )


def already_held(catalog: Catalog, entry: MethodEntry) -> str | None:
    """The id of a catalog entry for the same paper (arXiv id, DOI or normalised title), if any."""
    for other in catalog.methods.values():
        if entry.paper.arxiv and other.paper.arxiv == entry.paper.arxiv:
            return other.id
        if entry.paper.doi and (other.paper.doi or "").lower() == entry.paper.doi.lower():
            return other.id
        title = normalise_title(entry.paper.title or "")
        if title and normalise_title(other.paper.title or "") == title:
            return other.id
    return None


def write_new(catalog: Catalog, entry: MethodEntry) -> Path:
    """Write a new entry file; never overwrite one, never add a paper twice."""
    path = Path(catalog.root) / "methods" / f"{entry.id}.yaml"
    if path.exists():
        raise UserError(f"{path}: already exists; edit it instead")
    if (held := already_held(catalog, entry)) is not None:
        where = catalog.files[f"methods/{held}"]
        raise UserError(f"{path}: the catalog already holds this paper as '{held}' ({where})")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(entry_text(entry), encoding="utf-8")
    return path
