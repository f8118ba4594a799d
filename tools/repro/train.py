"""One training phase: train on one split, evaluate on others, checkpoint every epoch, resume from the last.

A phase lives in its own folder: `last.safetensors` (method weights, `methods.save_trained`), `last.state.pt`
(optimizer, epoch, log), `best.safetensors` when the phase keeps a best epoch, and `done.json` when finished.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from .. import methods
from ..errors import UserError
from . import checkpoint, distributed
from . import device as dev
from .data import ImageCache, loader
from .errors import write_state
from .layout import Sample
from .recipe import TaskSettings
from .schedule import lr_at

STOP_ENV = "VPEFT_STOP_AFTER_EPOCHS"  # testing aid: stop the process after this many epochs, as a kill would


class Interrupted(UserError):
    exit_code = 130


@dataclass
class Context:
    """What every phase of a run shares."""

    folder: Path
    settings: TaskSettings
    make_model: Callable[[], nn.Module]
    device: torch.device
    seed: int
    workers: int = 0
    progress: bool = True
    crop: bool = False  # FGVC: resize the shorter side, then crop (data.crop_transform)
    epochs_run: list[int] = field(default_factory=lambda: [0])  # epochs trained by this process, all phases
    step_hook: Callable[[float], None] | None = None  # called with each step's loss (tests compare trainers)
    cache: ImageCache | None = None  # decoded images of the task, kept across epochs and phases


@dataclass
class Phase:
    name: str
    train: list[Sample]
    evals: dict[str, list[Sample]]  # split -> samples, evaluated every `eval_every` epochs and at the end
    lr: float
    weight_decay: float
    keep_best: str | None = None  # split whose best epoch is kept (best.safetensors)


def _no_decay(model: nn.Module, name: str, param: nn.Parameter, rule: str) -> bool:
    """Whether the reference trainer exempts this parameter from weight decay."""
    if rule == "1d-and-bias":  # timm add_weight_decay (filter_bias_and_bn): 1-D, *.bias, model.no_weight_decay()
        skip = model.no_weight_decay() if hasattr(model, "no_weight_decay") else set()
        return param.ndim <= 1 or name.endswith(".bias") or name in skip
    if rule == "bias":
        return name.endswith(".bias")
    if rule == "head-bias":  # VPT: only the classifier's bias (its `last_layer.bias`)
        return name == "head.bias"
    return False


def param_groups(model: nn.Module, wd: float, rule: str) -> list[dict[str, Any]]:
    """Trainable parameters in two groups, [no decay, decay], as timm's add_weight_decay returns them."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    skip = [p for n, p in named if _no_decay(model, n, p, rule)]
    keep = [p for n, p in named if not _no_decay(model, n, p, rule)]
    return [g for g in ({"params": skip, "weight_decay": 0.0}, {"params": keep, "weight_decay": wd}) if g["params"]]


def _optimizer(model: nn.Module, s: TaskSettings, lr: float, wd: float) -> torch.optim.Optimizer:
    groups = param_groups(model, wd, s.weight_decay_skip)
    if s.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=s.momentum or 0.0, weight_decay=wd)
    return torch.optim.AdamW(groups, lr=lr, weight_decay=wd)


def amp_dtype(s: TaskSettings, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of `precision` (None: fp32), refused where the device cannot run it."""
    if s.precision == "fp32" or (s.precision == "fp16" and device.type != "cuda"):
        return None  # fp16 autocast is CUDA-only: elsewhere fp32 (the runner refuses an explicit --precision fp16)
    if s.precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError(f"--precision bf16: {device} does not support bfloat16; use fp32 or fp16")
    return torch.bfloat16 if s.precision == "bf16" else torch.float16


def evaluate(model: nn.Module, ctx: Context, samples: list[Sample], desc: str) -> float:
    s = ctx.settings
    dl = loader(ctx.folder, samples, s.image_size, s.normalisation, max(s.batch_size, 256), train=False,
                workers=ctx.workers, interpolation=s.interpolation, antialias=s.antialias, crop=ctx.crop,
                cache=ctx.cache)
    correct, seen = 0, 0
    amp = amp_dtype(s, ctx.device)
    with dev.no_grad_eval(model):
        for x, y in tqdm(dl, desc=desc, leave=False, disable=not ctx.progress):
            with dev.autocast(ctx.device, amp):
                out = model(x.to(ctx.device, non_blocking=True))
            correct += int((out.argmax(1).cpu() == y).sum())
            seen += len(y)
    correct, seen = distributed.sum_counts(correct, seen, ctx.device)  # torchrun: every rank's slice
    if seen != len(samples):  # a sampler that pads or drops would make the accuracy wrong
        raise RuntimeError(f"{desc}: evaluated {seen} images, the split has {len(samples)}")
    return 100.0 * correct / len(samples)


def _save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _checkpoint(model: nn.Module, opt: torch.optim.Optimizer, state: dict[str, Any], folder: Path) -> None:
    if not distributed.is_main():  # torchrun: rank 0 writes, the ranks hold the same weights
        return
    tmp = folder / "last.safetensors.tmp"
    methods.save_trained(model, tmp)
    os.replace(tmp, folder / "last.safetensors")
    _save_atomic({**state, "optimizer": opt.state_dict()}, folder / "last.state.pt")


def _stop_if_asked(ctx: Context) -> None:
    limit = os.environ.get(STOP_ENV)
    ctx.epochs_run[0] += 1
    if limit and ctx.epochs_run[0] >= int(limit):
        raise Interrupted(f"stopped after {ctx.epochs_run[0]} epoch(s) ({STOP_ENV}); run the same command to resume")


def _timed(batches: Any, waited: list[float]) -> Any:
    """The loader's batches, adding the seconds spent waiting for each to `waited[0]`."""
    it = iter(batches)
    while True:
        start = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            return
        waited[0] += time.perf_counter() - start
        yield batch


def _train_epoch(model: nn.Module, ctx: Context, phase: Phase, opt: torch.optim.Optimizer, epoch: int,
                 scaler: torch.amp.GradScaler | None, waited: list[float]) -> tuple[float, int]:
    s = ctx.settings
    torch.manual_seed(ctx.seed * 1000 + epoch)  # drop-path and shuffling depend on (seed, epoch) only: resumable
    dl = loader(ctx.folder, phase.train, s.image_size, s.normalisation, s.batch_size, train=True,
                train_aug=s.train_aug, seed=ctx.seed * 1000 + epoch, workers=ctx.workers,
                interpolation=s.interpolation, antialias=s.antialias, drop_last=s.drop_last, crop=ctx.crop,
                cache=ctx.cache)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=s.label_smoothing)
    amp = amp_dtype(s, ctx.device)
    model.train()
    total, seen = 0.0, 0
    trained = distributed.wrap(model, ctx.device)
    for x, y in _timed(tqdm(dl, desc=f"{phase.name} epoch {epoch + 1}", leave=False, disable=not ctx.progress),
                       waited):
        x, y = x.to(ctx.device, non_blocking=True), y.to(ctx.device, non_blocking=True)
        with dev.autocast(ctx.device, amp):
            loss = loss_fn(trained(x), y)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        total += loss.item() * len(y)
        seen += len(y)
        if ctx.step_hook is not None:
            ctx.step_hook(loss.item())
    total, seen = distributed.sum_loss(total, seen, ctx.device)
    return total / max(seen, 1), seen


def run_phase(ctx: Context, phase: Phase, folder: Path) -> dict[str, Any]:
    """Train (or resume) one phase; returns its summary, also stored in `done.json`."""
    done = folder / "done.json"
    if done.is_file():
        return checkpoint.read_done(done)
    folder.mkdir(parents=True, exist_ok=True)
    s = ctx.settings
    model = ctx.make_model().to(ctx.device)
    opt = _optimizer(model, s, phase.lr, phase.weight_decay)
    state: dict[str, Any] = {"epoch": 0, "log": [], "evals": [], "best": None, "train_seconds": 0.0, "images": 0}
    if (folder / "last.state.pt").is_file():
        saved = checkpoint.load_state(folder / "last.state.pt")
        checkpoint.load_trained(model, folder / "last.safetensors")
        checkpoint.load_optimizer(opt, saved, folder / "last.state.pt")
        state = {k: v for k, v in saved.items() if k != "optimizer"}
    scaler = dev.grad_scaler(amp_dtype(s, ctx.device))
    dev.reset_peak(ctx.device)
    bar = tqdm(range(state["epoch"], s.total_epochs), initial=state["epoch"], total=s.total_epochs, desc=phase.name,
               disable=not ctx.progress)
    for epoch in bar:
        lr = lr_at(epoch, phase.lr, s.epochs, s.warmup_epochs, s.warmup_lr_init, s.min_lr, s.scheduler,
                   s.scheduler_step, s.cosine_epochs)
        for group in opt.param_groups:
            group["lr"] = lr
        start, waited = time.perf_counter(), [0.0]
        loss, images = _train_epoch(model, ctx, phase, opt, epoch, scaler, waited)
        seconds = time.perf_counter() - start
        state["train_seconds"] += seconds
        state["images"] += images
        state["data_wait_seconds"] = state.get("data_wait_seconds", 0.0) + waited[0]
        entry: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, "loss": loss, "seconds": round(seconds, 3)}
        if s.evaluates(epoch + 1):
            for split, samples in phase.evals.items():
                started = time.perf_counter()
                acc = evaluate(model, ctx, samples, f"{phase.name} {split}")
                state["eval_seconds"] = state.get("eval_seconds", 0.0) + time.perf_counter() - started
                state["eval_images"] = state.get("eval_images", 0) + len(samples)
                entry[f"{split}_accuracy"] = acc
                if split == phase.keep_best and (state["best"] is None or acc > state["best"]["accuracy"]):
                    state["best"] = {"epoch": epoch + 1, "accuracy": acc}
                    if distributed.is_main():
                        methods.save_trained(model, folder / "best.safetensors")
        state["log"].append(entry)
        state["epoch"] = epoch + 1
        bar.set_postfix(loss=f"{loss:.3f}")
        _checkpoint(model, opt, state, folder)
        _stop_if_asked(ctx)
    peak, kind = dev.peak_memory_mb(ctx.device)
    summary = {
        "phase": phase.name, "lr": phase.lr, "weight_decay": phase.weight_decay, "log": state["log"],
        "best": state["best"], "last": state["log"][-1], "train_seconds": round(state["train_seconds"], 3),
        "images_per_s": state["images"] / state["train_seconds"] if state["train_seconds"] else None,
        # how busy the device was kept: the share of training time spent waiting for the data loader
        "data_wait_fraction": _share(state.get("data_wait_seconds"), state["train_seconds"]),
        "eval_seconds": round(state.get("eval_seconds", 0.0), 3),
        "eval_images_per_s": _share(state.get("eval_images"), state.get("eval_seconds")),
        "peak_memory_mb": round(peak, 1), "peak_memory_kind": kind,
        "trainable_parameters": methods.trainable_parameters(model),
    }
    write_state(done, summary)
    distributed.barrier()  # the other ranks read best.safetensors and done.json next
    return summary


def _share(part: float | None, whole: float | None) -> float | None:
    """part / whole, or None when either is unknown (a phase resumed from a file written before it was measured)."""
    return part / whole if part is not None and whole else None


def best_model(ctx: Context, folder: Path) -> nn.Module:
    """The phase's kept best epoch, loaded onto a fresh backbone."""
    model = ctx.make_model().to(ctx.device)
    checkpoint.load_trained(model, folder / "best.safetensors")
    return model
