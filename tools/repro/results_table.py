"""Run records -> a catalog result table with source kind "reproduced" (`vpeft results add`)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from ..catalog.models import Catalog, Provenance, ResultRow, ResultTable
from ..errors import UserError
from .record import RunRecord

SUBDIR = "reproduced"


def _merge(records: list[tuple[Path, RunRecord]]) -> RunRecord:
    """Shards of one run (same recipe hash and seed) become one record; anything else is refused."""
    path0, first = records[0]
    tasks = dict(first.tasks)
    for path, other in records[1:]:
        if (other.recipe_hash, other.seed, other.method) != (first.recipe_hash, first.seed, first.method):
            raise UserError(f"{path}: another run than {path0} (recipe hash, seed or method differ)")
        clash = sorted(set(tasks) & set(other.tasks))
        if clash:
            raise UserError(f"{path}: task {clash[0]} is also in an earlier record")
        tasks.update(other.tasks)
    return first.model_copy(update={"tasks": tasks})


def _row(catalog: Catalog, record: RunRecord) -> ResultRow:
    compare_with = list(record.resolved.get("compare_with") or [])
    entry = catalog.methods.get(compare_with[0]) if compare_with else None
    selections = sorted({t.model_selection for t in record.tasks.values()})
    peeked = sorted(t for t, r in record.tasks.items() if r.looked_at_test)
    note = f"model selection: {', '.join(selections)}" + (
        f"; best test-set epoch reported for {', '.join(peeked)}, as in the recipe" if peeked else "")
    params = record.trainable_parameters
    return ResultRow(
        label=entry.name if entry else record.implementation,
        method=entry.id if entry else None,
        row_kind="method" if entry else "unidentified",
        params_m=round(params / 1e6, 4) if params is not None else None,
        scores={t: round(r.accuracy, 2) for t, r in record.tasks.items()},
        note=note,
    )


def table_from(catalog: Catalog, records: list[tuple[Path, RunRecord]], url: str) -> ResultTable:
    record = _merge(records)
    path0 = records[0][0]
    if record.smoke:
        raise UserError(f"{path0}: a --smoke record checks the pipeline (tiny model, digits data); it is not a result")
    bench = catalog.benchmarks.get(record.benchmark)
    if bench is None:
        raise UserError(f"{path0}: benchmark: unknown benchmark '{record.benchmark}'")
    unknown = sorted(set(record.tasks) - set(bench.task_ids()))
    if unknown:
        raise UserError(f"{path0}: tasks: unknown task '{unknown[0]}' of {bench.id}")
    try:
        source = Provenance(
            name="vpeft reproduce", kind="reproduced", url=url,
            commit=record.git_commit if record.git_commit else None,
            section=f"recipe {record.method}, hash {record.recipe_hash[:12]}, seed {record.seed}, {record.device}",
        )
    except ValidationError as exc:
        raise UserError(f"--url {url}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    table_id = f"reproduced-{record.method}-{record.benchmark}-{record.recipe_hash[:8]}-s{record.seed}"
    return ResultTable(
        id=table_id, benchmark=bench.id,
        backbone=record.backbone + (f" (weights {Path(record.weights).name})" if record.weights else ""),
        source=source, rows=[_row(catalog, record)],
    )


def write_table(catalog_root: Path, table: ResultTable) -> Path:
    """Write catalog/results/reproduced/<id>.yaml; an existing file is never overwritten."""
    path = catalog_root / "results" / SUBDIR / f"{table.id}.yaml"
    if path.exists():
        raise UserError(f"{path}: already exists; remove it first if you mean to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# yaml-language-server: $schema=../../schema/results.schema.json\n"
    body = yaml.safe_dump(table.model_dump(mode="json", exclude_defaults=True), sort_keys=False, allow_unicode=True)
    path.write_text(header + body, encoding="utf-8")
    return path
