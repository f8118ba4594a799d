"""Flat records of result rows (one per row of every table), with means computed by code, for `results list`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .derived import aggregates
from .models import Catalog, MethodEntry, ResultRow, ResultTable


@dataclass(frozen=True)
class RowRecord:
    table: str
    benchmark: str
    backbone: str
    source_kind: str
    source: str
    url: str
    source_table: str | None
    read_in: str | None  # where the digits were read when not on the `url` page
    label: str
    method: str | None
    row_kind: str
    setting: str | None
    params_m: float | None
    task_mean: float | None  # computed from the task scores
    mean_of_group_means: float | None  # computed from the task scores
    printed_mean: float | None
    printed_mean_kind: str | None
    checkpoint: str | None
    model_selection: str | None
    seeds: int | None
    copied_from: str | None  # "table:row" or "paper:table:row"
    produced_by: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


FIELDS = list(RowRecord.__dataclass_fields__)


def family(catalog: Catalog, method_id: str) -> set[str]:
    """The method and its variants (the VPT family is vpt, vpt-deep and vpt-shallow)."""
    return {method_id} | {m.id for m in catalog.methods.values() if m.variant_of == method_id}


def lineage_text(row: ResultRow) -> str | None:
    link = row.copied_from
    if link is None:
        return None
    if link.table is not None:
        return f"{link.table}:{link.row}"
    return f"{link.paper}:{link.paper_table or '?'}:{link.row}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def record(catalog: Catalog, table: ResultTable, row: ResultRow) -> RowRecord:
    bench = catalog.benchmarks.get(table.benchmark)
    agg = aggregates(row, bench) if bench else None
    protocol = table.protocol_of(row)
    return RowRecord(
        table=table.id, benchmark=table.benchmark, backbone=table.backbone, source_kind=table.source.kind,
        source=table.source.name, url=table.source.url, source_table=table.source.table,
        read_in=table.source.read_in, label=row.label,
        method=row.method, row_kind=row.row_kind, setting=row.setting, params_m=row.params_m,
        task_mean=_round(agg.task_mean if agg else None),
        mean_of_group_means=_round(agg.mean_of_group_means if agg else None),
        printed_mean=row.published.mean,
        printed_mean_kind=table.printed_mean if row.published.mean is not None else None,
        checkpoint=protocol.checkpoint, model_selection=protocol.model_selection, seeds=protocol.seeds,
        copied_from=lineage_text(row), produced_by=row.produced_by.kind if row.produced_by else None,
    )


def records(catalog: Catalog, benchmark: str | None = None, method: MethodEntry | None = None) -> list[RowRecord]:
    wanted = family(catalog, method.id) if method else None
    out = []
    for table_id in sorted(catalog.results):
        table = catalog.results[table_id]
        if benchmark is not None and table.benchmark != benchmark:
            continue
        out += [record(catalog, table, row) for row in table.rows if wanted is None or row.method in wanted]
    return out
