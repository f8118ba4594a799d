"""Lineage of result rows: which rows carry the same numbers because one was copied from another.

A row's `copied_from` links it to a row of another catalog table, or to a row of a paper whose table the catalog does
not hold. Rows joined by such links (directly or through a common source) form one *lineage group*: the same
measurement printed several times, never independent confirmation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

from .models import Catalog, ResultRow
from .names import clean_label

MIN_EQUAL_TASKS = 15  # this many tasks equal digit for digit cannot be chance


@dataclass(frozen=True, order=True)
class RowRef:
    table: str
    index: int
    label: str


def _external(paper: str, row: str, benchmark: str, backbone: str | None) -> tuple[str, str]:
    """A row of a paper no stored table holds. A paper prints rows of one label on several benchmarks and backbones
    (SPT's 'LoRA-8' on VTAB-1k and FGVC, on IN-21k and MAE weights): those are different numbers, so the citing
    table's benchmark and backbone are part of the key."""
    return ("paper", f"{paper}:{clean_label(row)}@{benchmark}/{backbone or ''}")


class _Groups:
    """Union-find over row references and external (paper, row) keys."""

    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, key: object) -> object:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: object, b: object) -> None:
        self.parent[self.find(a)] = self.find(b)


def all_rows(catalog: Catalog) -> Iterator[tuple[RowRef, ResultRow]]:
    for table_id in sorted(catalog.results):
        for i, row in enumerate(catalog.results[table_id].rows):
            yield RowRef(table_id, i, row.label), row


def lineage_groups(catalog: Catalog) -> dict[RowRef, object]:
    """Every row -> the key of its lineage group (rows with equal keys share their numbers)."""
    groups = _Groups()
    refs = dict(all_rows(catalog))
    by_label = {(r.table, r.label): r for r in refs}
    for ref, row in refs.items():
        groups.find(ref)
        link = row.copied_from
        if link is None:
            continue
        if link.table is not None:
            target = by_label.get((link.table, link.row))
            if target is not None:  # an unknown target is a validation error, reported there
                groups.union(ref, target)
        elif link.paper is not None:
            table = catalog.results[ref.table]
            groups.union(ref, _external(link.paper, link.row, table.benchmark, table.backbone))
    return {ref: groups.find(ref) for ref in refs}


def equal_tasks(a: ResultRow, b: ResultRow) -> int:
    """Tasks where both rows print a score and the scores are the same number."""
    return sum(1 for t, v in a.scores.items() if v is not None and b.scores.get(t) == v)


@dataclass(frozen=True)
class Copy:
    first: RowRef
    second: RowRef
    equal: int


def unlinked_copies(catalog: Catalog, min_equal: int = MIN_EQUAL_TASKS) -> list[Copy]:
    """Pairs of rows of different tables (same benchmark) equal on >= `min_equal` tasks that no lineage joins."""
    group = lineage_groups(catalog)
    rows = list(all_rows(catalog))
    out = []
    for (ra, a), (rb, b) in combinations(rows, 2):
        if ra.table == rb.table or catalog.results[ra.table].benchmark != catalog.results[rb.table].benchmark:
            continue
        if group[ra] == group[rb]:
            continue
        n = equal_tasks(a, b)
        if n >= min_equal:
            out.append(Copy(ra, rb, n))
    return out


def repeats(catalog: Catalog, ref: RowRef) -> list[RowRef]:
    """The other rows of the catalog in `ref`'s lineage group."""
    group = lineage_groups(catalog)
    return [r for r, g in group.items() if g == group[ref] and r != ref]
