"""The catalog `vpeft site` validated before mkdocs starts, handed to the mkdocs hook for the first build.

The command validates first, so that a bad catalog fails with one line per problem before mkdocs runs; the hook,
which mkdocs loads by file path and which knows only the catalog's folder, would then load and validate the same
files again (about a second). The hand-over holds one catalog, is taken once, and only while no file of its folder
changed since it was read (each file's path, size and mtime): a `serve` rebuild after an edit validates afresh.
"""

from __future__ import annotations

from pathlib import Path

from ..catalog.models import Catalog

Fingerprint = frozenset[tuple[str, int, int]]
_held: tuple[Path, Fingerprint, Catalog] | None = None


def fingerprint(folder: str | Path) -> Fingerprint:
    """Path (within `folder`), size and mtime (ns) of every file under `folder`: what changes when any catalog
    file is added, removed or edited."""
    root = Path(folder)
    files = [p for p in root.rglob("*") if p.is_file()]
    return frozenset((str(p.relative_to(root)), (s := p.stat()).st_size, s.st_mtime_ns) for p in files)


def hand_over(folder: str | Path, before: Fingerprint, catalog: Catalog) -> None:
    """Hold `catalog`, validated from `folder` whose files were `before` (taken before reading them)."""
    global _held
    _held = (Path(folder).resolve(), before, catalog)


def take(folder: str | Path) -> Catalog | None:
    """The held catalog if it was read from `folder` and no file there changed since; never the same one twice."""
    global _held
    held, _held = _held, None
    if held is None or held[0] != Path(folder).resolve() or held[1] != fingerprint(folder):
        return None
    return held[2]


def drop() -> None:
    global _held
    _held = None
