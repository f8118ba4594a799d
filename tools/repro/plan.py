"""`--dry-run`: everything the run would do, with the source of each value and the numbers it will be checked
against, and a time estimate from a few measured training steps of the real model on the chosen device."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from ..catalog.models import Benchmark
from . import device as dev
from .compare import Comparison
from .layout import TaskData
from .recipe import PEEKS_AT_TEST, Resolved, TaskSettings


def measure_images_per_s(make_model: Callable[[], nn.Module], s: TaskSettings, device: torch.device) -> float:
    """Training throughput of 3 steps (after one warm-up step) at up to 8 images per batch."""
    model = make_model().to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=1e-6)
    batch = min(s.batch_size, 8)
    x = torch.randn(batch, 3, s.image_size, s.image_size, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device)
    amp = dev.amp_dtype(device)
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


def train_images(s: TaskSettings) -> int:
    """Images a task trains on: grid trials on train800 plus the final run, or one run."""
    if s.model_selection == "val200-grid-then-retrain":
        return (len(s.lr_grid or []) * len(s.weight_decay_grid or []) * 800 + 1000) * s.epochs
    return (800 if s.model_selection == "best-val-epoch" else 1000) * s.epochs


def _fmt_time(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def plan_lines(res: Resolved, bench: Benchmark, cmp: Comparison, data: dict[str, TaskData] | None,
               images_per_s: float | None, device: torch.device) -> list[str]:
    first = next(iter(res.tasks.values()))
    lines = [f"method: {res.recipe_id} (registry: {res.implementation}); benchmark: {bench.id}; device: {device}",
             f"tasks ({len(res.tasks)}): {', '.join(res.tasks)}", "settings (value  <- source):"]
    for name, value in first.model_dump().items():
        per_task = {t: getattr(s, name) for t, s in res.tasks.items()}
        shown = value if len(set(map(str, per_task.values()))) == 1 else "per task: " + ", ".join(
            f"{t}={v}" for t, v in per_task.items())
        source = res.source_of(name)
        lines.append(f"  {name:<18}{shown!s:<30} <- {source}")
    lines += [f"  assumed: {a}" for a in res.assumed]
    if first.model_selection in PEEKS_AT_TEST:
        lines.append("  NOTE: model selection looks at the test set, because the published number did so")
    lines += [f"  note: {n}" for n in res.notes]
    lines.append("expected numbers (mean over the selected tasks):")
    lines += [f"  {r.label} [{r.source}, {r.table}]: mean {r.mean if r.mean is None else round(r.mean, 2)}"
              f"{' (reference)' if r.is_reference else ''}" for r in cmp.reported] or ["  none in the catalog"]
    lines.append("data: " + ("checked, " + ", ".join(f"{t}: {len(d.samples('test'))} test images"
                                                       for t, d in data.items()) if data else "not checked"))
    if images_per_s:
        total = sum(train_images(s) for s in res.tasks.values())
        lines.append(f"estimated training time: {_fmt_time(total / images_per_s)} ({total} training images at "
                     f"{images_per_s:.1f} images/s measured on {device}; evaluation not included)")
    return lines
