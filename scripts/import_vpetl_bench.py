#!/usr/bin/env python3
"""Convert V-PETL Bench's published result tables (CSV, cell for cell as in its README) into catalog results.

Usage: python scripts/import_vpetl_bench.py CSV_DIR [--catalog catalog]

Row names are matched to catalog entries through their id, name and aliases; baseline rows (full fine-tuning,
linear probing, frozen, partial tuning) are kept with `row_kind: baseline`, and rows whose paper is not in the
catalog with `row_kind: unidentified`. Existing files are only overwritten with --force.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from vpeft.catalog import load_catalog
from vpeft.catalog.models import Catalog
from vpeft.catalog.validate import normalise_name
from vpeft.catalog.yamlio import dump_yaml

COMMIT = "c188fad2930fa2d1c07a8a64848427fd24ce6006"
SOURCE = {
    "name": "V-PETL Bench",
    "kind": "benchmark",
    "url": f"https://github.com/synbol/Parameter-Efficient-Transfer-Learning-Benchmark/blob/{COMMIT}/README.md",
    "commit": COMMIT,
    "section": "Results and Checkpoints",
}
BASELINES = {"fullfinetuning", "linearprobing", "frozen", "partial1"}
HEADER = "# yaml-language-server: $schema=../schema/results.schema.json"
NOTES = {
    "Adapter": "V-PETL Bench cites no paper for this row; we take it to be the sequential bottleneck adapter "
    "of Houlsby et al. (2019).",
    "BAPAT": "V-PETL Bench neither expands nor cites BAPAT; its model file for this row adds adapters and the "
    "parallel-attention (PATT) branch of V-PETL (arXiv 2210.00788), so we map the row to that paper.",
}


def number(cell: str) -> float | None:
    """'0.16M', '86.75 M', '51.9%', '17061 MB' -> float; '-' -> None."""
    cell = cell.strip().rstrip("%").replace("MB", "").replace("M", "").strip()
    return None if cell in {"", "-"} else float(cell)


def resolve(label: str, catalog: Catalog) -> tuple[str | None, str]:
    key = normalise_name(label)
    if key in BASELINES:
        return None, "baseline"
    for entry in catalog.methods.values():
        names = {entry.id, entry.name, *entry.aliases}
        if key in {normalise_name(n) for n in names}:
            return entry.id, "method"
    return None, "unidentified"


def make_row(label: str, params: str, scores: dict[str, str], catalog: Catalog, extra: dict) -> dict:
    method, kind = resolve(label, catalog)
    row: dict = {"label": label, "method": method, "row_kind": kind, "params_published": params.strip(),
                 "params_m": number(params)}
    row.update(extra)
    row["scores"] = {task: number(value) for task, value in scores.items()}
    if kind == "unidentified":
        row["note"] = "The benchmark names this method but cites no paper that we could identify."
    elif label in NOTES:
        row["note"] = NOTES[label]
    return row


def table(table_id: str, bench: str, backbone: str, rows: list[dict], pretraining: str | None = None) -> dict:
    out = {"id": table_id, "benchmark": bench, "backbone": backbone}
    if pretraining:
        out["pretraining"] = pretraining
    return {**out, "source": SOURCE, "ppt_reported": True, "rows": rows}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def classification(path: Path, bench: str, tasks: list[str], catalog: Catalog) -> dict:
    rows = []
    for rec in read(path):
        row = make_row(rec["method"], rec["params"], {t: rec[t] for t in tasks}, catalog, {})
        row["published"] = {"mean": number(rec["mean"]), "ppt": number(rec["ppt"])}
        rows.append(row)
    return table(f"vpetl-bench-{bench}", bench, "ViT-B/16 (ImageNet-21k)", rows)


def video(path: Path, catalog: Catalog) -> list[dict]:
    out = []
    for task in ("ssv2", "hmdb51"):
        for backbone, slug in (("ViT-B", "vit-b"), ("Video Swin-B", "video-swin-b")):
            rows = []
            for rec in (r for r in read(path) if r["backbone"] == backbone):
                row = make_row(rec["method"], rec["params"], {task: rec[f"{task}_top1"]}, catalog, {})
                row["published"] = {"ppt": number(rec[f"{task}_ppt"])}
                rows.append(row)
            out.append(table(f"vpetl-bench-{task}-{slug}", task, backbone, rows, "Kinetics 400"))
    return out


def dense(path: Path, label_col: str, specs: list[tuple[str, str, dict[str, str], str | None]],
          catalog: Catalog) -> list[dict]:
    """specs: (table id, benchmark, {score column: its PPT column}, memory column or None)."""
    out = []
    backbone = "Swin-B" if label_col.endswith("swin_b") else "Swin-L"
    for table_id, bench, cols, memory_col in specs:
        rows = []
        for rec in read(path):
            extra = {"memory_mb": number(rec[memory_col])} if memory_col else {}
            row = make_row(rec[label_col], rec["params"], {c: rec[c] for c in cols}, catalog, extra)
            ppts = {c: number(rec[p]) for c, p in cols.items()}
            row["published"] = {"ppt_by_task": {c: v for c, v in ppts.items() if v is not None}}
            rows.append(row)
        out.append(table(table_id, bench, backbone, rows))
    return out


def build(csv_dir: Path, catalog: Catalog) -> list[dict]:
    vtab_tasks = [t.id for t in catalog.benchmarks["vtab-1k"].tasks]
    fgvc_tasks = [t.id for t in catalog.benchmarks["fgvc"].tasks]
    return [
        classification(csv_dir / "vtab1k.csv", "vtab-1k", vtab_tasks, catalog),
        classification(csv_dir / "fgvc.csv", "fgvc", fgvc_tasks, catalog),
        *video(csv_dir / "video.csv", catalog),
        *dense(csv_dir / "coco-swin-b.csv", "method_swin_b",
               [("vpetl-bench-coco-swin-b", "coco",
                 {"coco_ap_box": "coco_ap_box_ppt", "coco_ap_mask": "coco_ap_mask_ppt"}, "memory")], catalog),
        *dense(csv_dir / "voc-ade20k-swin-l.csv", "method_swin_l",
               [("vpetl-bench-pascal-voc-swin-l", "pascal-voc", {"pascal_voc_ap_box": "pascal_voc_ppt"}, "memory_voc"),
                ("vpetl-bench-ade20k-swin-l", "ade20k", {"ade20k_miou": "ade20k_ppt"}, None)], catalog),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_dir", type=Path)
    parser.add_argument("--catalog", default="catalog")
    parser.add_argument("--force", action="store_true", help="overwrite existing result files")
    args = parser.parse_args()
    catalog, problems = load_catalog(args.catalog)
    if problems:
        print(f"import: the catalog has {len(problems)} problems; run `vpeft validate` first", file=sys.stderr)
        return 1
    out_dir = Path(args.catalog) / "results"
    out_dir.mkdir(exist_ok=True)
    for tab in build(args.csv_dir, catalog):
        path = out_dir / f"{tab['id']}.yaml"
        if path.exists() and not args.force:
            print(f"import: {path} exists (use --force to overwrite)", file=sys.stderr)
            return 1
        path.write_text(dump_yaml(tab, HEADER), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
