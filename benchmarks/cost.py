#!/usr/bin/env python3
"""The cost of every method: train-step time, memory, trainable parameters, inference time (unmerged, merged).

    python benchmarks/cost.py --model vit_small_patch16_224 --batch 8           # CPU unless CUDA is there
    python benchmarks/cost.py --model vit_base_patch16_224 --batch 64 --precision bf16 --device cuda

Same as `vpeft bench cost`; the measurement is in tools/bench/cost.py (the `vpeft.bench.cost` module), the memory
proxy used on CPU in tools/bench/memory.py. Results go to benchmarks/results/cost-*.{json,csv}.
"""

from __future__ import annotations

import argparse
import sys

from vpeft.bench import args as cost_args
from vpeft.cli import _Parser
from vpeft.errors import UserError


def main(argv: list[str] | None = None) -> int:
    parser: argparse.ArgumentParser = _Parser(prog="benchmarks/cost.py", description=__doc__.splitlines()[0])
    cost_args.configure(parser)
    args = parser.parse_args(argv)
    try:
        return cost_args.main(args)
    except UserError as exc:
        print(f"benchmarks/cost.py: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
