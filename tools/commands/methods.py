"""`vpeft methods`: the registry of reference implementations with trainable parameters on ViT-B/16 and the
backbone families each supports (`register(..., families=...)`, methods/_families.py).

Counts are computed (meta device, default config, head excluded), never typed; names come from the catalog
entries whose `implementation` is the registry id. A method whose layers come from an optional package (peft's
tuners: `Method.requires`) is not counted here, which would import that package and take minutes for all of them:
its row says `vpeft params ID`, which counts it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..catalog.models import Catalog
from ..catalog.service import optional_catalog

NAME = "methods"
HELP = "list the methods of the `methods` registry with their trainable parameters on ViT-B/16"
MODEL = "vit_base_patch16_224"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _entries_by_implementation(catalog: Catalog | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in sorted(catalog.methods.values() if catalog else [], key=lambda e: e.id):
        if entry.implementation:
            out.setdefault(entry.implementation, []).append(entry.id)
    return out


def _name(catalog: Catalog | None, method_id: str, entry_ids: list[str]) -> str | None:
    """The display name of the catalog entry with the same id, else of the first entry implemented by it."""
    if not entry_ids or catalog is None:
        return None
    chosen = method_id if method_id in entry_ids else entry_ids[0]
    return catalog.methods[chosen].name


def rows(catalog: Catalog | None) -> list[dict[str, Any]]:
    from .. import methods
    from ..methods.counting import parameter_counts

    by_impl = _entries_by_implementation(catalog)
    out = []
    for method_id in methods.available():
        spec = methods.get(method_id)
        trainable: int | None = None
        try:
            if not spec.cls.requires:
                trainable = parameter_counts(method_id, MODEL).trainable_excluding_head
        except (ValueError, TypeError):  # a method that does not support plain ViTs (e.g. Swin-only)
            pass
        entry_ids = by_impl.get(method_id, [])
        out.append({
            "id": method_id,
            "name": _name(catalog, method_id, entry_ids),
            "catalog": entry_ids,
            "mergeable": spec.mergeable,
            "families": list(spec.families),
            "paper": spec.paper,
            "model": MODEL,
            "trainable_excluding_head": trainable,
            "requires": list(spec.cls.requires),
        })
    return out


def _millions(row: dict[str, Any]) -> str:
    n = row["trainable_excluding_head"]
    if n is None and row["requires"]:
        return f"on demand: vpeft params {row['id']}"
    return "n/a" if n is None else f"{n:,} ({n / 1e6:.2f}M)"


def run(args: argparse.Namespace) -> int:
    table = rows(optional_catalog(args.catalog))
    if args.json:
        print(json.dumps(table, indent=2, ensure_ascii=False))
        return 0
    header = {"id": "id", "name": "name", "mergeable": "mergeable", "families": "families", "paper": "paper",
              "trainable_excluding_head": f"trainable on {MODEL} (head excluded)"}
    lines = [header] + [
        {**r, "name": r["name"] or "-", "mergeable": "yes" if r["mergeable"] else "no", "paper": r["paper"] or "-",
         "families": ",".join(r["families"]), "trainable_excluding_head": _millions(r)}
        for r in table
    ]
    keys = ["id", "name", "mergeable", "families", "paper"]
    widths = {k: max(len(str(line[k])) for line in lines) for k in keys}
    for line in lines:
        cells = [f"{line[k]!s:<{widths[k]}}" for k in keys]
        print("  ".join([*cells, str(line["trainable_excluding_head"])]))
    print(f"{len(table)} method(s)")
    return 0
