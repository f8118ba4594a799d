"""The options of the cost benchmark, shared by `vpeft bench cost` and `benchmarks/cost.py`, and their checks."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from .cost import Options

DEFAULTS = {"model": "vit_small_patch16_224", "batch": 8, "rounds": 10, "warmup": 2, "num_classes": 100}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("examples:\n  vpeft bench cost --model vit_small_patch16_224 --batch 8\n"
                     "  vpeft bench cost --model vit_base_patch16_224 --batch 64 --precision bf16 --device cuda")
    d = DEFAULTS
    parser.add_argument("--model", default=d["model"], metavar="NAME",
                        help=f"a timm ViT, built with pretrained=False (default: {d['model']})")
    parser.add_argument("--batch", type=int, default=d["batch"], metavar="N", help=f"default: {d['batch']}")
    parser.add_argument("--precision", default="fp32", metavar="P", help="fp32 or bf16 (autocast); default fp32")
    parser.add_argument("--device", default="auto", metavar="DEV",
                        help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N; default auto")
    parser.add_argument("--rounds", type=int, default=d["rounds"], metavar="N",
                        help=f"timed rounds; the median is reported (default: {d['rounds']})")
    parser.add_argument("--warmup", type=int, default=d["warmup"], metavar="N",
                        help=f"rounds run first and dropped (default: {d['warmup']})")
    parser.add_argument("--num-classes", type=int, default=d["num_classes"], metavar="N",
                        help=f"classes of the head (default: {d['num_classes']})")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="torch CPU threads (default: torch's own choice); 1 is steadier on a busy machine")
    parser.add_argument("--methods", default="", metavar="IDS",
                        help="comma-separated method ids (default: every registered method; full is always added)")
    parser.add_argument("--no-peft", action="store_true",
                        help="leave out the reference row of Hugging Face peft's LoRA (added when peft is installed)")
    parser.add_argument("-o", "--output", metavar="STEM",
                        help="write STEM.json and STEM.csv (default: benchmarks/results/cost-DEVICE-MODEL-bN-P)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _positive(name: str, value: int, least: int = 1) -> None:
    if value < least:
        raise UserError(f"--{name}: must be at least {least}, got {value}")


def options(args: argparse.Namespace) -> Options:
    """The checked `cost.Options` (torch and timm are imported only here, after argparse has run)."""
    import timm

    from .. import methods
    from .cost import PRECISIONS, Options

    _positive("batch", args.batch)
    _positive("rounds", args.rounds)
    _positive("warmup", args.warmup, 0)
    _positive("num-classes", args.num_classes, 2)
    _positive("threads", args.threads, 0)
    if args.precision not in PRECISIONS:
        raise UserError(f"--precision: expected one of {', '.join(PRECISIONS)}, got {args.precision!r}")
    if args.model not in timm.list_models():
        raise UserError(f"--model: {args.model!r} is not a timm model name (see timm.list_models())")
    _check_device(args.device)
    ids = tuple(i.strip() for i in args.methods.split(",") if i.strip())
    unknown = [i for i in ids if i not in methods.available()]
    if unknown:
        raise UserError(f"--methods: unknown method(s) {', '.join(unknown)}; known: {', '.join(methods.available())}")
    return Options(model=args.model, batch=args.batch, precision=args.precision, device=args.device,
                   rounds=args.rounds, warmup=args.warmup, num_classes=args.num_classes, methods=ids,
                   threads=args.threads, peft=not args.no_peft, progress=not args.no_progress)


def _check_device(device: str) -> None:
    import torch

    cuda = device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())
    if device not in ("auto", "cpu") and not cuda:
        raise UserError(f"--device: expected auto, cpu, cuda or cuda:N, got {device!r}")
    if cuda and not torch.cuda.is_available():
        raise UserError("--device: CUDA was asked for but torch sees no CUDA device")


def main(args: argparse.Namespace) -> int:
    from .cost import resolve_device, run
    from .files import check_stem, default_stem, write

    opts = options(args)
    stem = Path(args.output) if args.output else default_stem(opts, resolve_device(opts.device).type)
    if stem.suffix in (".json", ".csv"):
        stem = stem.with_suffix("")
    check_stem(stem)  # before the run, not after twenty minutes of it
    for path in write(run(opts), stem):
        print(path)
    return 0
