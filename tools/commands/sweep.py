"""`vpeft sweep METHOD`: `vpeft reproduce` with every job (task x grid point x seed, then retrains) as a Ray task.

Same options, run folders and records as `reproduce`; plus where Ray runs and what each job gets. Exit 0 when the
records pass (as `reproduce`), 1 when a job failed after its retries or the check failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import math

from ..errors import UserError
from ..options import int_between
from . import reproduce

NAME = "sweep"
HELP = "run a reproduction's jobs (tasks x grid x seeds) on Ray: local, or a cluster with --address"


def _fraction(text: str) -> float:
    """--gpus-per-run: 0 (CPU), a fraction below 1 (runs share a GPU) or a whole number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or (value > 1 and not value.is_integer()):
        raise argparse.ArgumentTypeError(f"must be 0, a fraction below 1 or a whole number, got {text!r}")
    return value


def _positive(text: str) -> float:
    value = _fraction(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    reproduce.configure(parser)
    parser.epilog = ("examples:\n  vpeft sweep vpt --smoke --seeds 1,2\n"
                     "  vpeft sweep vpt --data-root data/vtab-1k --weights ViT-B_16.npz --seeds 42,44,82,100,800 "
                     "--address auto --gpus-per-run 0.25")
    ray = parser.add_argument_group("Ray")
    ray.add_argument("--address", metavar="ray://HOST:PORT|auto",
                     help="join this Ray cluster (default: start a local instance)")
    ray.add_argument("--gpus-per-run", type=_fraction, metavar="F",
                     help="GPUs per job, fractional to share one (default: 1 when CUDA is available, else 0)")
    ray.add_argument("--cpus-per-run", type=_positive, default=1.0, metavar="F", help="CPUs per job (default: 1)")
    ray.add_argument("--max-retries", type=int_between(0, 100), default=2, metavar="N",
                     help="retries of a failed job before it is reported (default: 2)")
    ray.add_argument("--cpus", type=int_between(1, 4096), metavar="N",
                     help="CPUs of the local Ray instance (default: all; not with --address)")


def run(args: argparse.Namespace) -> int:
    from ..repro import sweep

    if args.shard is not None:
        raise UserError("--shard: not for sweep (Ray spreads the jobs); use it with vpeft reproduce")
    if args.cpus is not None and args.address is not None:
        raise UserError("--cpus: sizes a local Ray instance only; a cluster at --address has its own")
    opts = reproduce.options_from(args)
    if args.workers is None and not args.smoke:  # a job's loader workers share its CPUs with the training loop
        opts.workers = max(0, int(args.cpus_per_run) - 1)
    if opts.dry_run:
        from ..repro.runner import run as run_pipeline

        code = run_pipeline(opts)
        print(sweep.dry_run_line(opts))
        return code
    options = sweep.SweepOptions(address=args.address, gpus_per_run=args.gpus_per_run,
                                 cpus_per_run=args.cpus_per_run, max_retries=args.max_retries, cpus=args.cpus)
    return sweep.run(opts, options)
