"""How names and titles are compared: spelling variants of one name normalise to the same text."""

from __future__ import annotations

import re
import unicodedata


def normalise_title(title: str) -> str:
    """Lower case, accents and punctuation dropped, spaces folded: used to spot the same paper twice."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def normalise_name(name: str) -> str:
    """'VPT-Deep', 'vpt deep' and 'VPT_deep' are the same name."""
    return re.sub(r"[^a-z0-9$^+]+", "", name.lower())


def clean_label(label: str) -> str:
    """A printed row label without citation brackets ('[19]', '[ECCV22][4]'), HTML tags and markers ('†', '▶')."""
    return normalise_name(re.sub(r"<[^>]*>|\[[^\]]*\]", "", label))
