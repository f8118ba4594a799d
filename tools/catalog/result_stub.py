"""`vpeft results new`: a result-table stub for the numbers a paper prints, with every task of the benchmark to fill.

The stub loads, and `vpeft validate` names what is still empty (the backbone, the row's scores): the same rules
as every stored table then apply (score range, printed means recomputed, lineage).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from .models import Catalog, Protocol, Provenance, PublishedAggregates, ResultRow, ResultTable
from .schema import SCHEMA_DIR
from .yamlio import dump_yaml

RESULTS_HEADER = f"# yaml-language-server: $schema=../{SCHEMA_DIR}/results.schema.json"


def _source_name(catalog: Catalog, method_id: str) -> str:
    """'FacT (Jie et al., AAAI 2023)'-style name from the entry's facts, as far as they are filled."""
    entry = catalog.methods[method_id]
    paper = entry.paper
    authors = paper.author_names() if paper.authors else []
    who = authors[0].family + (" et al." if len(authors) > 1 else "") if authors else None
    when = " ".join(str(x) for x in (paper.venue, paper.year) if x)
    detail = ", ".join(x for x in (who, when) if x)
    return f"{entry.name} ({detail})" if detail else entry.name


def result_stub(catalog: Catalog, method_id: str, bench_id: str, url: str, table: str,
                table_id: str | None = None) -> ResultTable:
    """A paper table for METHOD on BENCHMARK: one row labelled with the method's name, every task's score null."""
    if method_id not in catalog.methods:
        raise UserError(f"--method: unknown method '{method_id}' (see `vpeft list`)")
    bench = catalog.benchmarks.get(bench_id)
    if bench is None:
        raise UserError(f"--benchmark: unknown benchmark '{bench_id}' (known: {', '.join(sorted(catalog.benchmarks))})")
    if not table.strip():
        raise UserError("--table: give the table as the page numbers it, e.g. 'Table 2'")
    source = Provenance(name=_source_name(catalog, method_id), kind="paper", url=url, paper=method_id,
                        table=table.strip())
    row = ResultRow(label=catalog.methods[method_id].name, method=method_id,
                    scores={task.id: None for task in bench.tasks}, published=PublishedAggregates())
    return ResultTable(id=table_id or f"{method_id}-paper-{bench_id}", benchmark=bench_id, backbone=None,
                       source=source, protocol=Protocol(), printed_mean=None, rows=[row])


def stub_text(table: ResultTable) -> str:
    """Every field a contributor may fill is written out (nulls included), so the stub shows what exists."""
    data = table.model_dump(mode="json", exclude_defaults=False)
    for row in data["rows"]:  # lineage and per-row overrides are for rows that need them: left out of the stub
        for key in ("copied_from", "produced_by", "protocol", "printed_as_is", "memory_mb"):
            row.pop(key, None)
    return dump_yaml(data, RESULTS_HEADER)


def write_stub(catalog: Catalog, table: ResultTable) -> Path:
    """catalog/results/<id>.yaml; an existing file or table id is never overwritten."""
    path = Path(catalog.root) / "results" / f"{table.id}.yaml"
    if path.exists() or table.id in catalog.results:
        where = catalog.files.get(f"results/{table.id}", str(path))
        raise UserError(f"{path}: a result table '{table.id}' already exists ({where}); choose another --id")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stub_text(table), encoding="utf-8")
    return path
