"""Helpers for count checks: the V-PETL Bench VTAB-1k counts from the catalog, and counts on a meta ViT-B/16."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from vpeft.methods.counting import parameter_counts

ROOT = Path(__file__).resolve().parents[2]
VTAB_RESULTS = ROOT / "catalog" / "results" / "vpetl-bench-vtab-1k.yaml"
VTAB_BENCHMARK = ROOT / "catalog" / "benchmarks" / "vtab-1k.yaml"



@cache
def _vtab_rows() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(VTAB_RESULTS.read_text())
    return {row["method"]: row for row in data["rows"] if row.get("method")}


def published_vtab_params(method_id: str) -> str:
    """The printed V-PETL Bench VTAB-1k count of `method_id`, e.g. "0.16M"."""
    return str(_vtab_rows()[method_id]["params_published"])


def vtab_class_counts() -> list[int]:
    """Number of classes of each VTAB-1k task (catalog/benchmarks/vtab-1k.yaml)."""
    return [int(t["classes"]) for t in yaml.safe_load(VTAB_BENCHMARK.read_text())["tasks"]]


def as_millions(n: float) -> str:
    """Formatted as V-PETL Bench prints counts: millions with two decimals."""
    return f"{n / 1e6:.2f}M"


def vit_b16_trainable(method_id: str, **options: Any) -> int:
    """Trainable parameters excluding the head of `method_id` on ViT-B/16, built on the meta device (no memory)."""
    return parameter_counts(method_id, "vit_base_patch16_224", **options).trainable_excluding_head
