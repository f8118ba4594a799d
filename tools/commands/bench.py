"""`vpeft bench cost`: what each method costs (train step, memory, parameters, inference), see tools/bench/cost.py."""

from __future__ import annotations

import argparse

NAME = "bench"
HELP = "benchmarks of the reference implementations (cost: time, memory and parameters of every method)"


def configure(parser: argparse.ArgumentParser) -> None:
    from ..bench import args as cost_args

    sub = parser.add_subparsers(dest="bench_command", metavar="BENCHMARK")
    sub.required = True
    cost = sub.add_parser("cost", help="train-step time, memory, trainable parameters and inference time of "
                          "every method, as ratios to full fine-tuning and the plain backbone")
    cost_args.configure(cost)
    goals = sub.add_parser("goals", help="write the cost goals table of benchmarks/README.md from the committed "
                           "CPU result and benchmarks/cost_notes.yaml")
    goals.add_argument("--check", action="store_true", help="only check that the table is up to date (exit 1 if not)")
    goals.add_argument("--root", default=".", metavar="DIR", help="the repository root (default: .)")


def run(args: argparse.Namespace) -> int:
    if args.bench_command == "goals":
        from pathlib import Path

        from ..bench.goals import update_readme

        return update_readme(Path(args.root), args.check)
    from ..bench import args as cost_args

    return cost_args.main(args)
