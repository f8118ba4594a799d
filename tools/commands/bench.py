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


def run(args: argparse.Namespace) -> int:
    from ..bench import args as cost_args

    return cost_args.main(args)
