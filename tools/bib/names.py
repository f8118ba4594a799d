"""Person names for citations: the parts come from the catalog's "Family, Given" form (catalog/authors.py)."""

from __future__ import annotations

import unicodedata

from ..catalog.authors import Name, parse_author

__all__ = ["Name", "ascii_fold", "parse_author"]


def ascii_fold(text: str) -> str:
    """Lowercase ASCII letters and digits only, accents dropped (for citation keys)."""
    special = {"ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l",
               "đ": "d", "Đ": "d", "ı": "i"}
    text = "".join(special.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text.lower() if c.isascii() and c.isalnum())
