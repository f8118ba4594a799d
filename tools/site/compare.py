"""The data of the compare page: every method's facts and its number on every benchmark and backbone, as one JSON
file made at build time. The page's script (site/assets/vpeft-compare.js) only lays out the methods the address
names (compare.html?m=lora,vpt-deep) and marks the best of each row among them; every number comes from here.

Per method and board the number is the one its leaderboard line shows first: the paper-reported row (the method's
own paper, else the original of the number most tables print), else the first benchmark table, else a
reproduction; its source and row go with it, so the page can say where each number comes from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..bench.result import CostResult
from ..catalog.lineage import lineage_groups
from ..catalog.models import Benchmark, Catalog
from . import boards, views
from .costs import describe
from .links import relative, safe_url

PAGE = "compare.md"
DATA = "downloads/compare.json"


def _method(catalog: Catalog, method_id: str, trainable: dict[str, int]) -> dict[str, Any]:
    entry = catalog.methods[method_id]
    path = catalog.taxonomy.path(entry.category) if catalog.taxonomy else []
    count = trainable.get(entry.implementation or "")
    return {
        "name": entry.name,
        "href": relative(PAGE, views.method_page(entry.id)),
        "title": entry.paper.title or "",
        "paper_url": safe_url(entry.paper.url) or "",
        "venue": views.venue_year(entry.paper.venue, entry.paper.year),
        "category": path[-1].name if path else entry.category,
        "category_href": relative(PAGE, views.node_page(path[-1].id)) if path else "",
        "code_url": safe_url(entry.code_url) or "",
        "implementation": entry.implementation or "",
        # the method page's section with the registry name, its parameter count and how to apply it
        "implementation_href": relative(PAGE, views.method_page(entry.id)) + "#implementation",
        "trainable": f"{count:,}" if count is not None else "",
    }


def _pick(catalog: Catalog, entries: list[boards.Entry], groups: dict[Any, object]) -> boards.Entry | None:
    """The entry a method's line shows first (see the module docstring)."""
    paper = boards.pick_paper(catalog, entries, groups)
    if paper is not None:
        return paper
    ordered = sorted(entries, key=lambda e: (boards.KIND_ORDER[e.table.source.kind], e.ref))
    return next((e for e in ordered if e.head.value is not None), None)


def _board(catalog: Catalog, bench: Benchmark, backbone: str, groups: dict[Any, object]) -> dict[str, Any] | None:
    by_method: dict[str, list[boards.Entry]] = {}
    for e in boards.entries(catalog, bench, backbone):
        if e.row.method in catalog.methods:
            by_method.setdefault(e.row.method, []).append(e)
    scores = {}
    for method_id, entries in sorted(by_method.items()):
        chosen = _pick(catalog, entries, groups)
        if chosen is None:
            continue
        tasks = [chosen.row.scores.get(t.id) for t in bench.tasks]
        scores[method_id] = {
            "headline": chosen.head.value,
            "headline_text": views.fmt(chosen.head.value).text,
            "tasks": tasks,
            "task_texts": [views.fmt_score(v).text for v in tasks],
            "params_m": chosen.row.params_m,
            "params_text": views.fmt_params(chosen.row.params_m).text,
            "source": views.source_link(chosen.table).text,
            "source_url": safe_url(chosen.table.source.url) or "",
            "row": chosen.row.label,
            "kind": chosen.table.source.kind,
        }
    if not scores:
        return None
    # the headline is its own row only when it is not simply the one task's score
    headline = boards.headline_label(bench) if len(bench.tasks) > 1 and bench.averaged else None
    return {"benchmark": bench.name, "backbone": backbone, "href": relative(PAGE, views.leaderboard_page(bench.id)),
            "headline": headline, "tasks": [f"{t.name}, {t.metric}" for t in bench.tasks], "scores": scores}


def _costs(results: Sequence[tuple[str, CostResult]]) -> tuple[str, dict[str, dict[str, str]]]:
    """The first committed cost result: what it measured (the Cost page's own wording), and per registry id its
    train-step and memory ratios to full fine-tuning."""
    if not results:
        return "", {}
    _, result = results[0]
    title, _ = describe(result)
    ratios = {r.method: {"train": f"{r.train_ratio:.2f}x", "memory": f"{r.memory_ratio:.2f}x"}
              for r in result.rows if not r.reference}
    return title, ratios


def compare_data(catalog: Catalog, trainable: dict[str, int],
                 results: Sequence[tuple[str, CostResult]] = ()) -> dict[str, Any]:
    groups = lineage_groups(catalog)
    out_boards = []
    for bench in catalog.benchmarks.values():
        for backbone in sorted({t.backbone for t in catalog.results.values() if t.benchmark == bench.id}):
            board = _board(catalog, bench, backbone, groups)
            if board is not None:
                out_boards.append(board)
    # the boards most methods report on first (VTAB-1k on ViT-B/16 before a detection board with a few lines)
    out_boards.sort(key=lambda b: -len(b["scores"]))
    methods = {m: _method(catalog, m, trainable) for m in sorted(catalog.methods)}
    cost_label, ratios = _costs(results)
    for method in methods.values():
        method["cost"] = ratios.get(method["implementation"], {})
    return {"methods": methods, "boards": out_boards, "cost_label": cost_label}


def compare_json(catalog: Catalog, trainable: dict[str, int], results: Sequence[tuple[str, CostResult]] = ()) -> str:
    return json.dumps(compare_data(catalog, trainable, results), ensure_ascii=False, separators=(",", ":")) + "\n"
