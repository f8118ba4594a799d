"""Bibliography exports (BibTeX, CSL-JSON, RIS) and BibTeX import, from the typed catalog.

API for generators (the site):
    export(catalog, fmt, entries=None) -> str     # fmt in FORMATS; entries=None: whole bibliography
    bibtex_entry(catalog, entry) -> str           # one method's BibTeX (a variant gives its paper's)
    select_entries(catalog, category, method_ids) # entries for a --category / --method choice
    citation_key(catalog, entry) -> str
    bibliography_files(catalog) -> {file name: text}  # whole bibliography + each taxonomy node, every format
"""

from __future__ import annotations

from .export import (
    EXTENSIONS,
    FORMATS,
    bibliography_files,
    bibtex_entry,
    citation_key,
    export,
    select_entries,
)

__all__ = ["EXTENSIONS", "FORMATS", "bibliography_files", "bibtex_entry", "citation_key", "export", "select_entries"]
