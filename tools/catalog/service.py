"""Loading a catalog for commands and generators: load, validate, and fail with every problem listed."""

from __future__ import annotations

from pathlib import Path

from ..errors import CatalogError
from .loader import load_catalog
from .models import Catalog
from .problems import Problem
from .validate import validate

DEFAULT_CATALOG = "catalog"  # `--catalog` when not given: ./catalog


def optional_catalog(root: str) -> Catalog | None:
    """The catalog, or None when none was named and ./catalog does not exist (an installed package used
    outside a clone: commands about the implementations work without one)."""
    if root == DEFAULT_CATALOG and not Path(root).exists():
        return None
    return valid_catalog(root)


def registry_ids() -> dict[str, str | None] | None:
    """Registry id -> the arXiv id of the paper it implements, or None when the package is not importable
    (validation then skips the implementation checks)."""
    try:
        from .. import methods
    except ImportError:
        return None
    available = getattr(methods, "available", None)
    return {name: methods.get(name).paper for name in available()} if available else None


def check_catalog(root: str, with_registry: bool = True) -> tuple[Catalog, list[Problem]]:
    catalog, problems = load_catalog(root)
    problems = sorted(problems) + validate(catalog, registry_ids() if with_registry else None)
    return catalog, problems


def valid_catalog(root: str, with_registry: bool = False) -> Catalog:
    """The catalog, or a CatalogError listing each error on its own line."""
    catalog, problems = check_catalog(root, with_registry)
    errors = [p for p in problems if p.severity == "error"]
    if len(errors) == 1:  # the usual case (a typo in --catalog, one bad file): one line, as for any bad input
        raise CatalogError(str(errors[0]))
    if errors:
        lines = "\n".join(str(p) for p in errors)
        raise CatalogError(f"the catalog has {len(errors)} problem(s); run `vpeft validate`:\n{lines}")
    # a result-table stub still to fill (no backbone yet) is shown nowhere: every board and page groups by backbone
    catalog.results = {k: t for k, t in catalog.results.items() if t.backbone is not None}
    return catalog
