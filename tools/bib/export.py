"""The export API: pick entries, build records, write one format."""

from __future__ import annotations

from collections.abc import Callable

from ..catalog.models import Catalog, MethodEntry
from ..errors import UserError
from .bibtex import write_bibtex
from .csl import write_csl
from .keys import owner_of
from .record import Keyring, Record, catalog_records, method_records
from .ris import write_ris

WRITERS: dict[str, Callable[[list[Record]], str]] = {"bibtex": write_bibtex, "csl-json": write_csl, "ris": write_ris}
FORMATS = tuple(WRITERS)
EXTENSIONS = {"bibtex": "bib", "csl-json": "json", "ris": "ris"}


def export(catalog: Catalog, fmt: str, entries: list[MethodEntry] | None = None) -> str:
    """The bibliography in `fmt`. `entries=None`: survey, benchmark and every paper; a list: just those papers."""
    if fmt not in WRITERS:
        raise UserError(f"--format: unknown format '{fmt}' (choose one of: {', '.join(FORMATS)})")
    return WRITERS[fmt](catalog_records(catalog, entries))


def bibtex_entry(catalog: Catalog, entry: MethodEntry) -> str:
    """One method's BibTeX block; a variant gives its paper's entry."""
    return write_bibtex(method_records(catalog, [entry]))


def citation_key(catalog: Catalog, entry: MethodEntry) -> str:
    return Keyring(catalog).method(owner_of(catalog, entry))


def select_entries(catalog: Catalog, category: str | None = None, method_ids: list[str] | None = None
                   ) -> list[MethodEntry] | None:
    """Entries for a category and/or method ids (union); None when neither is given (the whole catalog)."""
    if category is None and not method_ids:
        return None
    chosen: list[MethodEntry] = []
    if category is not None:
        if catalog.taxonomy is None or catalog.taxonomy.node(category) is None:
            known = ", ".join(n.id for n, _ in catalog.taxonomy.walk()) if catalog.taxonomy else ""
            raise UserError(f"--category: unknown node '{category}' (known: {known})")
        chosen += sorted(catalog.methods_in(category), key=lambda m: m.id)
    for method_id in method_ids or []:
        entry = catalog.method(method_id)
        if entry is None:
            raise UserError(f"--method: unknown method '{method_id}' (see `vpeft list`)")
        if entry not in chosen:
            chosen.append(entry)
    return chosen


def bibliography_files(catalog: Catalog, stem: str = "vpeft") -> dict[str, str]:
    """Every download the site offers: `{stem}.{ext}` for the whole bibliography and `{node}.{ext}` for each
    taxonomy node with papers, in every format. File name -> text."""
    files = {f"{stem}.{EXTENSIONS[fmt]}": export(catalog, fmt) for fmt in FORMATS}
    if catalog.taxonomy is None:
        return files
    for node, _ in catalog.taxonomy.walk():
        entries = select_entries(catalog, node.id)
        if entries:
            files.update({f"{node.id}.{EXTENSIONS[fmt]}": export(catalog, fmt, entries) for fmt in FORMATS})
    return files
