"""`vpeft reproduce METHOD`: re-run a method on VTAB-1k or FGVC by its catalog recipe and check the published numbers.

Exit 0 within tolerance (or a passed --smoke check), 1 not, 2 on a usage or data error (one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError
from ..options import int_between, non_negative_float

if TYPE_CHECKING:
    from ..repro.runner import Options

NAME = "reproduce"
HELP = "re-run METHOD on VTAB-1k or FGVC by its catalog recipe and compare with the published numbers"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("examples:\n  vpeft reproduce lora --smoke\n"
                     "  vpeft reproduce lora --data-root data/vtab-1k --weights ViT-B_16.npz --tasks dtd --dry-run")
    parser.add_argument("method", metavar="METHOD", help="catalog recipe (vpt, lora) or registry method id")
    parser.add_argument("--benchmark", default="vtab-1k", choices=["vtab-1k", "fgvc"], help="default: vtab-1k")
    parser.add_argument("--tasks", metavar="A,B", help="task ids or folder names (default: all)")
    parser.add_argument("--data-root", type=Path, metavar="DIR", help="folder holding the task folders")
    parser.add_argument("--model", metavar="TIMM_NAME", help="backbone (default: the recipe's)")
    parser.add_argument("--weights", type=Path, metavar="PATH", help="local backbone weights: .npz/.safetensors/.pth")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe value (lr=1e-3, method.r=4); repeatable")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"],
                        help="training and evaluation precision (default: the recipe's, fp32 where the reference "
                             "trained in fp32)")
    parser.add_argument("--seed", type=int_between(0, 2**31 - 1), help="random seed (default: 42)")
    parser.add_argument("--seeds", metavar="A,B,...",
                        help="run once per seed (e.g. 42,44,82,100,800) into --out/seed-N; report mean and std")
    parser.add_argument("--out", type=Path, default=Path("reproduce-out"), metavar="DIR",
                        help="run folder: checkpoints, task results, record.json (re-run to resume)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and an estimated time, train nothing")
    parser.add_argument("--tolerance", type=non_negative_float, default=1.0,
                        help="allowed |mean difference| in points (default: 1.0)")
    parser.add_argument("--smoke", action="store_true", help="tiny ViT on generated digits data, CPU, < 2 minutes")
    parser.add_argument("--shard", metavar="I/N", help="run every N-th task from the I-th (spread over devices)")
    parser.add_argument("--workers", type=int_between(0, 256),
                        help="data loader processes (default: CPUs - 1, at most 8; 0 with --smoke)")
    parser.add_argument("--search", action="store_true",
                        help="recipes with one lr: search lr x {0.25..4} on val200, then retrain (not sourced; "
                             "not the published protocol)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ..repro.runner import run as run_pipeline

    return run_pipeline(options_from(args))


def options_from(args: argparse.Namespace) -> Options:
    """The pipeline's options from the parsed command line (`reproduce` and `sweep` share them)."""
    from ..repro.data import default_workers
    from ..repro.runner import Options
    from ..repro.seeds import parse as parse_seeds

    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out}: is a file; name a folder (new, or a run folder to resume)")

    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    if seeds is not None and args.seed is not None:
        raise UserError("--seed and --seeds: give one of them")
    opts = Options(
        method=args.method, benchmark=args.benchmark, tasks=args.tasks, data_root=args.data_root, model=args.model,
        weights=args.weights, overrides=args.overrides, device=args.device, precision=args.precision,
        seed=42 if args.seed is None else args.seed, seeds=seeds, out=args.out, dry_run=args.dry_run,
        tolerance=args.tolerance, smoke=args.smoke, shard=args.shard,
        workers=default_workers(args.smoke) if args.workers is None else args.workers,
        progress=not args.no_progress, catalog=args.catalog, argv=sys.argv[1:], search=args.search,
    )
    return opts
