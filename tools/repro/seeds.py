"""`--seeds 42,44,82,100,800`: one run per seed (each in `--out/seed-N`, a run folder of its own), then the mean
and standard deviation over the seeds of every task and of the mean, next to the published numbers (VPT reports the
mean of five runs)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from ..catalog.models import Benchmark
from ..errors import UserError
from .compare import Comparison, fmt


def parse(text: str) -> list[int]:
    """`42,44,82` -> [42, 44, 82]; each a seed --seed accepts, no repeats."""
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items or not all(x.isdigit() and int(x) < 2**31 for x in items):
        raise UserError(f"--seeds {text!r}: expected comma-separated integers from 0 to 2^31-1, e.g. 42,44,82")
    seeds = [int(x) for x in items]
    if len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds {text!r}: a seed is repeated")
    return seeds


@dataclass
class Spread:
    mean: float
    std: float | None  # sample standard deviation (n - 1); None with one seed


def spread(values: list[float]) -> Spread:
    return Spread(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None)


def summarise(by_seed: dict[int, Comparison]) -> dict[str, Any]:
    """Per task and for the mean: mean and standard deviation over the seeds, and each reported number."""
    first = next(iter(by_seed.values()))
    tasks = {t: spread([c.ours[t] for c in by_seed.values()]) for t in first.tasks}
    means = [c.mean for c in by_seed.values()]
    overall = spread([m for m in means if m is not None]) if all(m is not None for m in means) else None
    return {
        "seeds": list(by_seed), "std": "sample standard deviation (n - 1) over the seeds",
        "tasks": {t: s.__dict__ for t, s in tasks.items()},
        "mean": overall.__dict__ if overall else None,
        "per_seed_mean": {str(seed): c.mean for seed, c in by_seed.items()},
        "reported": [{"label": r.label, "table": r.table, "mean": r.mean, "scores": r.scores,
                      "is_reference": r.is_reference} for r in first.reported],
    }


def _pm(s: dict[str, Any] | None) -> str:
    if s is None:
        return "-"
    return f"{fmt(s['mean'])} ± {fmt(s['std'])}" if s["std"] is not None else fmt(s["mean"])


def lines(summary: dict[str, Any], bench: Benchmark) -> list[str]:
    names = {t.id: t.name for t in bench.tasks}
    reported = summary["reported"]
    header = f"{'task':<16}{'mean ± std':>16}" + "".join(f"  {'[' + str(i + 1) + ']':>8}{'diff':>8}"
                                                        for i in range(len(reported)))
    out = [f"seeds {', '.join(map(str, summary['seeds']))}: {summary['std']}", header]
    rows = [(names.get(t, t), s, [r["scores"].get(t) for r in reported]) for t, s in summary["tasks"].items()]
    rows.append(("mean", summary["mean"], [r["mean"] for r in reported]))
    for name, s, theirs in rows:
        line = f"{name:<16}{_pm(s):>16}"
        for value in theirs:
            diff = None if s is None or value is None else s["mean"] - value
            line += f"  {fmt(value):>8}{fmt(diff, True):>8}"
        out.append(line)
    out += [f"[{i + 1}] {r['label']}, table {r['table']}{' (reference)' if r['is_reference'] else ''}"
            for i, r in enumerate(reported)]
    return out
