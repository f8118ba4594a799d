"""Catalog look-ups that commands share: which registry method implements a catalog entry."""

from __future__ import annotations

from .models import Catalog
from .validate import normalise_name


def implementation_of(catalog: Catalog | None, name: str) -> str | None:
    """The registry id named by the catalog entry `name` (its id, name or an alias), or None."""
    if catalog is None:
        return None
    wanted = normalise_name(name)
    for entry in sorted(catalog.methods.values(), key=lambda e: e.id):
        names = {normalise_name(n) for n in (entry.id, entry.name, *entry.aliases)}
        if wanted in names and entry.implementation:
            return entry.implementation
    return None
