"""`--dry-run`: everything the run would do, with the source of each value and the numbers it will be checked
against, and a time estimate from a few measured training steps of the real model on the chosen device."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from ..catalog.models import Benchmark
from . import device as dev
from .backbone import name_warning
from .compare import Comparison
from .layout import TaskData
from .recipe import PEEKS_AT_TEST, Resolved, TaskSettings
from .train import amp_dtype


def measure_images_per_s(make_model: Callable[[], nn.Module], s: TaskSettings, device: torch.device) -> float:
    """Training throughput of 3 steps (after one warm-up step) at up to 8 images per batch."""
    model = make_model().to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=1e-6)
    batch = min(s.batch_size, 8)
    x = torch.randn(batch, 3, s.image_size, s.image_size, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device)
    amp = amp_dtype(s, device)
    elapsed = 0.0
    for step in range(4):
        start = time.perf_counter()
        with dev.autocast(device, amp):
            loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed += (time.perf_counter() - start) if step else 0.0
    return 3 * batch / elapsed


def measure_eval_images_per_s(make_model: Callable[[], nn.Module], s: TaskSettings, device: torch.device) -> float:
    """Evaluation throughput (forward only, no gradients) of 3 batches of 8 after one warm-up batch."""
    model = make_model().to(device).eval()
    x = torch.randn(8, 3, s.image_size, s.image_size, device=device)
    amp = amp_dtype(s, device)
    elapsed = 0.0
    with torch.no_grad():
        for step in range(4):
            start = time.perf_counter()
            with dev.autocast(device, amp):
                model(x)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            elapsed += (time.perf_counter() - start) if step else 0.0
    return 3 * 8 / elapsed


def eval_images(s: TaskSettings, val: int, test: int | None) -> int:
    """Images a task evaluates: val200 at each evaluated epoch of each grid trial or of a best-val-epoch run, and the
    test split at each evaluated epoch of the reported run (once, for best-val-epoch); `test` None: not counted."""
    evals = sum(s.evaluates(e) for e in range(1, s.total_epochs + 1))
    test = test or 0
    if s.model_selection == "val200-grid-then-retrain":
        return len(s.lr_grid or []) * len(s.weight_decay_grid or []) * val * evals + test * evals
    if s.model_selection == "best-val-epoch":
        return val * evals + test
    return test * evals


def train_images(s: TaskSettings, sizes: dict[str, int] | None = None) -> int:
    """Images a task trains on: grid trials on the train split plus the final run, or one run. VTAB-1k sizes
    (800/200) unless `sizes` gives the split sizes of checked data."""
    train, full = (sizes["train"], sizes["train"] + sizes["val"]) if sizes else (800, 1000)
    if s.model_selection == "val200-grid-then-retrain":
        return (len(s.lr_grid or []) * len(s.weight_decay_grid or []) * train + full) * s.total_epochs
    return (train if s.model_selection == "best-val-epoch" else full) * s.total_epochs


def _fmt_time(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _setting_lines(res: Resolved) -> list[str]:
    first = next(iter(res.tasks.values()))
    lines = []
    for name, value in first.model_dump().items():
        per_task = {t: getattr(s, name) for t, s in res.tasks.items()}
        if all(v is None for v in per_task.values()):
            lines.append(f"  {name:<18}{'-':<30} <- not used ({_unused(name, first)})")
            continue
        shown = value if len(set(map(str, per_task.values()))) == 1 else "per task: " + ", ".join(
            f"{t}={v}" for t, v in per_task.items())
        lines.append(f"  {name:<18}{shown!s:<30} <- {res.source_of(name)}")
    return lines


def _unused(name: str, s: TaskSettings) -> str:
    reasons = {"momentum": f"optimizer {s.optimizer}", "lr": "chosen by the grid", "weight_decay": "chosen by the grid",
               "lr_grid": "one lr, no grid", "weight_decay_grid": "one weight decay, no grid",
               "lr_base_batch": "lr not scaled by batch size", "eval_epochs": f"every {s.eval_every} epoch(s)",
               "cosine_epochs": "the cosine spans `epochs`"}
    return reasons.get(name, "the reference does not state it; recorded only")


def _fidelity_lines(res: Resolved, device: torch.device) -> list[str]:
    first = next(iter(res.tasks.values()))
    lines = []
    warning = name_warning(first.backbone)
    lines.append(f"backbone: timm name {first.backbone}" + (f"; WARNING: {warning}" if warning else
                                                            " (exact checkpoint)"))
    if first.precision == "fp16" and device.type != "cuda":
        lines.append(f"precision: the recipe's fp16 autocast needs CUDA; on {device} this run trains in fp32")
    if res.reference:
        row = f", row '{res.reference_row}'" if res.reference_row else ""
        lines.append(f"compared row (decides pass/fail): table {res.reference}{row}")
    else:
        lines.append("compared row: none in the catalog yet (see notes); the run reports its numbers only")
    lines += ["defaults used (no source gives these values):"] + [f"  - {a}" for a in res.assumed or ["none"]]
    lines += ["not applied (the reference pipeline did this; reproduce does not, yet):"]
    lines += [f"  - {n}" for n in res.not_applied or ["none"]]
    return lines


def _estimate_line(res: Resolved, bench: Benchmark, data: dict[str, TaskData] | None, images_per_s: float,
                   eval_per_s: float | None, device: torch.device) -> str:
    sizes = None if bench.id == "vtab-1k" or not data else {
        t: {"train": len(d.splits.get("train", [])), "val": len(d.splits.get("val", []))} for t, d in data.items()}
    total = sum(train_images(s, sizes[t] if sizes else None) for t, s in res.tasks.items())
    seconds = total / images_per_s
    line = f"{total} training images at {images_per_s:.1f} images/s"
    if eval_per_s:
        tests = {t: len(d.samples("test")) for t, d in data.items()} if data else {}
        evaluated = sum(eval_images(s, sizes[t]["val"] if sizes else 200, tests.get(t)) for t, s in res.tasks.items())
        seconds += evaluated / eval_per_s
        line += f", {evaluated} evaluated images at {eval_per_s:.1f} images/s"
        line += "" if data else "; test-set evaluation not included (needs --data-root for the test sizes)"
    else:
        line += "; evaluation not included"
    return f"estimated time: {_fmt_time(seconds)} ({line}, measured on {device})"


def plan_lines(res: Resolved, bench: Benchmark, cmp: Comparison, data: dict[str, TaskData] | None,
               images_per_s: float | None, device: torch.device, eval_per_s: float | None = None) -> list[str]:
    first = next(iter(res.tasks.values()))
    lines = [f"method: {res.recipe_id} (registry: {res.implementation}); benchmark: {bench.id}; device: {device}",
             f"tasks ({len(res.tasks)}): {', '.join(res.tasks)}", "settings (value  <- source):"]
    lines += _setting_lines(res)
    lines += _fidelity_lines(res, device)
    if first.model_selection in PEEKS_AT_TEST:
        lines.append("NOTE: model selection looks at the test set, because the published number did so")
    lines += [f"note: {n}" for n in res.notes]
    lines.append("expected numbers (mean over the selected tasks):")
    lines += [f"  {r.label} [{r.source}, {r.table}]: mean {r.mean if r.mean is None else round(r.mean, 2)}"
              f"{' (reference)' if r.is_reference else ''}" for r in cmp.reported] or ["  none in the catalog"]
    lines.append("data: " + ("checked, " + ", ".join(f"{t}: {len(d.samples('test'))} test images"
                                                       for t, d in data.items()) if data else "not checked"))
    if images_per_s and (bench.id == "vtab-1k" or data):
        lines.append(_estimate_line(res, bench, data, images_per_s, eval_per_s, device))
    elif images_per_s:
        lines.append(f"estimated training time: needs --data-root (the {bench.id} set sizes differ); "
                     f"{images_per_s:.1f} images/s measured on {device}")
    return lines
