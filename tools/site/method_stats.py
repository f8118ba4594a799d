"""The numbers of the methods table: trainable parameters (counted by our registry and as published) and the best
VTAB-1k mean of each method. Computed here, once per build; templates only print them.

The VTAB-1k column compares like with like: one benchmark, one backbone (the one most papers report on), the
leaderboards' headline mean (the mean of the three group means); a method's best row of any source counts, and the
cell says which source it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog.models import Catalog
from .boards import headline
from .views import DASH, Cell, fmt, fmt_params

SCORE_BENCHMARK = "vtab-1k"
SCORE_BACKBONE = "ViT-B/16 (ImageNet-21k)"


@dataclass(frozen=True)
class MethodStats:
    counted: Cell  # trainable parameters of our reference implementation, millions
    published: Cell  # printed with the best VTAB-1k row (else with another VTAB-1k row on the backbone), millions
    score: Cell  # best VTAB-1k headline mean on SCORE_BACKBONE
    score_source: str  # where `score` comes from ("" when none)


NONE = MethodStats(Cell(DASH, ""), Cell(DASH, ""), Cell(DASH, ""), "")


def _counted(count: int | None) -> Cell:
    if count is None:
        return Cell(DASH, "")
    return Cell(f"{count / 1e6:.2f} M", repr(count / 1e6))


def method_stats(catalog: Catalog, trainable: dict[str, int]) -> dict[str, MethodStats]:
    """Method id -> its stats (every method of the catalog has one)."""
    best: dict[str, tuple[float, float | None, str]] = {}
    any_params: dict[str, float] = {}
    bench = catalog.benchmarks.get(SCORE_BENCHMARK)
    for table in catalog.results.values():
        for row in table.rows:
            if row.method is None:
                continue
            if bench is None or table.benchmark != bench.id or table.backbone != SCORE_BACKBONE:
                continue
            if row.params_m is not None:
                any_params.setdefault(row.method, row.params_m)
            value = headline(table, row, bench).value
            if value is not None and (row.method not in best or value > best[row.method][0]):
                best[row.method] = (value, row.params_m, f"{table.source.name}, row '{row.label}'")
    out = {}
    for method_id, entry in catalog.methods.items():
        value, params, source = best.get(method_id, (None, None, ""))
        if params is None:
            params = any_params.get(method_id)
        counted = trainable.get(entry.implementation or "") if entry.implementation else None
        out[method_id] = MethodStats(_counted(counted), fmt_params(params), fmt(value), source)
    return out
