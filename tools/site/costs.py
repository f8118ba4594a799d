"""What the Cost page and the methods' cost rows show, from the committed cost results (benchmarks/results).

The numbers come from `tools.bench.result.CostResult` files written by `benchmarks/cost.py`; this module formats
them (templates compute nothing) and pairs each method with its VTAB-1k accuracy from the leaderboard for the plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..bench.result import CostResult, CostRow, read_result, result_files
from ..catalog.models import Catalog, MethodEntry
from . import boards
from .links import relative
from .views import DASH, Cell, Link, method_page

PAGE = "cost.md"
ACCURACY_BENCHMARK = "vtab-1k"
BASELINE_LINES = {"full": "baseline:full-fine-tuning", "linear": "baseline:linear-probing"}
BASELINE_NAMES = {"full": "Full fine-tuning", "linear": "Linear probing",
                  "peft-lora": "LoRA in Hugging Face peft (for comparison)"}
MB = 1e6


@dataclass(frozen=True)
class CostLine:
    method: str  # registry id
    name: Link
    trainable: Cell
    train_ratio: Cell
    train_ips: Cell
    flops_ratio: Cell  # counted FLOPs of forward + backward; a dash in results written before they were counted
    memory: Cell
    memory_ratio: Cell
    activation_ratio: Cell
    infer_ratio: Cell
    merged_ratio: Cell
    infer_ips: Cell


@dataclass(frozen=True)
class CostTable:
    anchor: str
    title: str  # what was measured: backbone, batch, precision, device
    label: str  # where and when: machine, date, versions
    memory_note: str
    source: str  # the result file, relative to the repository root
    lines: list[CostLine]


def load_results(root: Path) -> list[tuple[str, CostResult]]:
    """(file name relative to `root`, result) of every committed result; a bad file raises naming it."""
    return [(path.relative_to(root).as_posix(), read_result(path)) for path in result_files(root)]


def implementations(catalog: Catalog) -> dict[str, MethodEntry]:
    """Registry id -> the catalog entry that is its paper (the entry of the same id first, else the first named)."""
    out: dict[str, MethodEntry] = {}
    for entry in sorted(catalog.methods.values(), key=lambda e: (e.id != e.implementation, e.id)):
        if entry.implementation:
            out.setdefault(entry.implementation, entry)
    return out


def _ratio(value: float | None) -> Cell:
    if value is None:
        return Cell(DASH, "")
    return Cell(f"{value:.2f}×", repr(round(value, 6)))


def _count(value: float, digits: int = 0) -> Cell:
    return Cell(f"{value:,.{digits}f}", repr(round(value, 6)))


def _name(method: str, entries: dict[str, MethodEntry], here: str) -> Link:
    entry = entries.get(method)
    if entry is not None:
        return Link(entry.name, relative(here, method_page(entry.id)))
    return Link(BASELINE_NAMES.get(method, method), None)


def cost_line(row: CostRow, entries: dict[str, MethodEntry], here: str) -> CostLine:
    return CostLine(
        method=row.method, name=_name(row.method, entries, here), trainable=_count(row.trainable),
        train_ratio=_ratio(row.train_ratio), train_ips=_count(row.train_images_per_s, 1),
        flops_ratio=_ratio(row.train_flops_ratio),
        memory=_count(row.memory_bytes / MB), memory_ratio=_ratio(row.memory_ratio),
        activation_ratio=_ratio(row.activation_ratio), infer_ratio=_ratio(row.infer_ratio),
        merged_ratio=_ratio(row.merged_ratio), infer_ips=_count(row.infer_images_per_s, 1),
    )


def describe(result: CostResult) -> tuple[str, str]:
    """(title, label): what was measured, and on which machine, when, with which versions."""
    s, m, v = result.settings, result.machine, result.versions
    where = f"CPU ({m.cpu}, {m.cores} cores)" if s.device == "cpu" else f"{m.device} (host CPU {m.cpu})"
    title = f"{s.model}, batch {s.batch}, {s.precision}, {s.device.upper()}"
    commit = f", vpeft commit {v.commit[:10]}" if v.commit else ""
    label = (f"Measured on {where}, {result.date[:10]}; torch {v.torch}, timm {v.timm}{commit}; median of "
             f"{s.rounds} interleaved rounds after {s.warmup} warm-up round(s).")
    return title, label


def cost_table(name: str, result: CostResult, entries: dict[str, MethodEntry], here: str, n: int,
               only: str | None = None) -> CostTable:
    title, label = describe(result)
    rows = [r for r in result.rows if only is None or r.method == only]
    return CostTable(anchor=f"cost-{n + 1}", title=title, label=label, memory_note=result.proxy, source=name,
                     lines=[cost_line(r, entries, here) for r in rows])


def method_cost_tables(results: Sequence[tuple[str, CostResult]], catalog: Catalog,
                       entry: MethodEntry) -> list[CostTable]:
    """The cost row of `entry`'s implementation in every result that measured it."""
    if not entry.implementation:
        return []
    entries, here = implementations(catalog), method_page(entry.id)
    return [cost_table(name, r, entries, here, n, only=entry.implementation)
            for n, (name, r) in enumerate(results) if r.row(entry.implementation) is not None]


# ---------------------------------------------------------------- memory against accuracy


@dataclass(frozen=True)
class Accuracy:
    backbone: str  # the leaderboard backbone the numbers are from
    label: str  # what the number is (the headline mean)
    by_line: dict[str, float]  # leaderboard line key -> paper-reported headline


def vtab_accuracy(catalog: Catalog) -> Accuracy | None:
    """The paper-reported VTAB-1k headline of every leaderboard line, on the backbone with the most lines."""
    bench = catalog.benchmarks.get(ACCURACY_BENCHMARK)
    found = boards.method_boards(catalog, bench, PAGE) if bench is not None else []
    if not found:
        return None
    board = max(found, key=lambda b: len(b.lines))
    values = {line.key: float(line.cells[0].value.sort) for line in board.lines
              if line.cells[0] is not None and line.cells[0].value.sort}
    return Accuracy(board.backbone, board.mean_label, values)


def memory_points(result: CostResult, catalog: Catalog, accuracy: dict[str, float],
                  here: str = PAGE) -> tuple[list[tuple[str, float, float, str | None]], list[str]]:
    """(label, memory ratio, accuracy, href) per method with a leaderboard number, and the methods without one."""
    entries = implementations(catalog)
    points, missing = [], []
    for row in result.rows:
        if row.reference:  # the same method as ours, in another library: no accuracy of its own
            continue
        entry = entries.get(row.method)
        key = BASELINE_LINES.get(row.method) or (f"method:{entry.id}" if entry else "")
        link = _name(row.method, entries, here)
        if key in accuracy:
            points.append((link.text, row.memory_ratio, accuracy[key], link.href))
        else:
            missing.append(link.text)
    return points, missing
