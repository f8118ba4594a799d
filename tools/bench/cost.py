"""What each method costs on one backbone: train-step time, memory, trainable parameters, inference time.

Every registered method is applied to its own copy of one randomly initialised timm backbone (pretrained=False:
nothing is downloaded). Times are measured interleaved in this one process: each round times one train step
(forward, backward, optimizer step) of every method, then for every method one inference of the plain backbone, of
the method unmerged and, if it can be merged, merged, back to back; so a slow spell of a busy machine hits the
compared calls alike. The
first `warmup` rounds are dropped; ratios are taken within a round (method / full fine-tuning, method / plain
backbone) and the median over rounds is reported. Memory is measured on each model's first, untimed train step
(CUDA: the allocator's peak above what was allocated before it; CPU: the proxy of `memory.py`).
"""

from __future__ import annotations

import copy
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import methods
from ..errors import UserError
from ..methods import UnsupportedModelError
from ..repro.record import git_commit, git_dirty
from . import memory, work
from .result import BASELINE, PEFT_LORA, CostResult, CostRow, Machine, Settings, Versions

PRECISIONS = ("fp32", "bf16")
LR = 1e-3  # any value: the step's cost does not depend on it


@dataclass(frozen=True)
class Options:
    model: str = "vit_small_patch16_224"
    batch: int = 8
    precision: str = "fp32"
    device: str = "auto"  # "auto": cuda if available, else cpu
    rounds: int = 10
    warmup: int = 2
    num_classes: int = 100
    methods: tuple[str, ...] = ()  # () = every registered method; `full` is always measured
    seed: int = 0
    threads: int = 0  # torch's intra-op threads; 0 = torch's default
    peft: bool = True  # add peft's LoRA as a reference row when peft is installed and LoRA is measured
    progress: bool = True
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # passed to timm.create_model (tests: a tiny ViT)


@dataclass
class Subject:
    """One method's models and what the timing loop needs to drive them."""

    method: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    merged: nn.Module | None
    memory: Memory
    train: list[float] = field(default_factory=list)
    infer: list[float] = field(default_factory=list)
    merged_infer: list[float] = field(default_factory=list)
    backbone: list[float] = field(default_factory=list)  # the plain backbone, timed right before this model


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(device: torch.device, precision: str) -> AbstractContextManager[object]:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def _timed(device: torch.device, fn: Callable[[], object]) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return (time.perf_counter() - start) * 1000.0


def _input_size(model: nn.Module) -> tuple[int, int, int]:
    """(C, H, W) the model takes: its patch embedding's image size (set by `img_size=`), else its default config."""
    img = getattr(getattr(model, "patch_embed", None), "img_size", None)
    if img is not None:
        return (3, int(img[0]), int(img[1]))
    c, h, w = model.default_cfg.get("input_size", (3, 224, 224))  # type: ignore[union-attr]
    return (int(c), int(h), int(w))


class Bench:
    """The backbone, the inputs and the step functions shared by every method."""

    def __init__(self, opts: Options) -> None:
        import timm

        self.opts = opts
        self.versions = versions()  # at the start: the commit that runs, even if the checkout moves meanwhile
        self.device = resolve_device(opts.device)
        if opts.threads:
            torch.set_num_threads(opts.threads)
        torch.manual_seed(opts.seed)
        self.backbone = timm.create_model(opts.model, pretrained=False, num_classes=opts.num_classes,
                                          **opts.model_kwargs)
        self.backbone.to(self.device).eval()
        size = _input_size(self.backbone)
        self.image_size = size[-1]
        gen = torch.Generator().manual_seed(opts.seed)
        self.x = torch.randn(opts.batch, *size, generator=gen).to(self.device)
        self.y = torch.randint(0, opts.num_classes, (opts.batch,), generator=gen).to(self.device)
        self.loss = nn.CrossEntropyLoss()

    def applied(self, method: str) -> nn.Module:
        model = copy.deepcopy(self.backbone)
        if method == PEFT_LORA:
            return peft_lora(model).train()
        methods.apply(model, method)
        return model.train()

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)

    def forward_loss(self, model: nn.Module) -> torch.Tensor:
        with _autocast(self.device, self.opts.precision):
            return self.loss(model(self.x), self.y)

    def train_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.forward_loss(model).backward()
        optimizer.step()

    def infer(self, model: nn.Module) -> None:
        with torch.inference_mode(), _autocast(self.device, self.opts.precision):
            model(self.x)

    def merged(self, method: str, model: nn.Module) -> nn.Module | None:
        if method == PEFT_LORA:
            return copy.deepcopy(model).merge_and_unload().eval()  # type: ignore[operator]
        if not methods.get(method).mergeable:
            return None
        merged = methods.merge(copy.deepcopy(model))
        return merged.eval()


def same_modules(model: nn.Module, backbone: nn.Module) -> bool:
    """Whether `model` has exactly the backbone's modules (names and classes) and parameter shapes: then its
    inference does the backbone's work, and a measured difference is timing noise."""
    def layout(m: nn.Module) -> list[tuple[str, str, tuple[tuple[str, tuple[int, ...]], ...]]]:
        return [(name, type(mod).__name__, tuple((n, tuple(p.shape)) for n, p in mod.named_parameters(recurse=False)))
                for name, mod in m.named_modules()]
    return layout(model) == layout(backbone)


def peft_lora(model: nn.Module) -> nn.Module:
    """peft's LoRA on the fused qkv linears with our LoRA's default rank, alpha and dropout (the same layers and
    scaling, see methods/peft_interop.py), the head trained as peft's `modules_to_save`."""
    from peft import LoraConfig, get_peft_model

    cfg = methods.make_config("lora")
    if cfg.target != "qkv":  # type: ignore[attr-defined]
        raise UnsupportedModelError("peft's LoRA is compared with our LoRA on the fused qkv only")
    peft_cfg = LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,  # type: ignore[attr-defined]
                          target_modules=["qkv"], modules_to_save=["head"])
    return get_peft_model(model, peft_cfg)  # type: ignore[return-value]


def _peft_available() -> bool:
    try:
        import peft  # noqa: F401
    except ImportError:
        return False
    return True


def trainable(method: str, model: nn.Module) -> int:
    """Trainable parameters excluding the classifier head (peft wraps the head: its LoRA tensors are counted)."""
    if method == PEFT_LORA:
        return sum(p.numel() for n, p in model.named_parameters() if p.requires_grad and "lora_" in n)
    return methods.trainable_parameters(model)


# ---------------------------------------------------------------- memory


@dataclass(frozen=True)
class Memory:
    total: int
    activations: int
    params: int
    optimizer: int
    flops: int  # forward + backward of this first step (`work.py`): the same on any machine, under any load


def first_step(bench: Bench, model: nn.Module, opt: torch.optim.Optimizer) -> Memory:
    """The untimed first train step of a model (it creates the optimizer state), measuring its memory and work.

    CPU: the proxy of `memory.py`. CUDA: the model's parameters plus the allocator's peak above what was
    allocated before the step (grads, activations, temporaries, the new optimizer state). Work: the FLOPs of the
    step's forward and backward, counted by `work.py`.
    """
    cuda = bench.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(bench.device)
        torch.cuda.reset_peak_memory_stats(bench.device)
        before = torch.cuda.memory_allocated(bench.device)
    opt.zero_grad(set_to_none=True)
    with work.counter() as flops:
        activations = memory.saved_activation_bytes(model, lambda: _backward(bench, model))
    opt.step()
    params, state = memory.parameter_bytes(model), memory.optimizer_bytes(opt)
    if cuda:
        torch.cuda.synchronize(bench.device)
        total = params + torch.cuda.max_memory_allocated(bench.device) - before
    else:
        total = params + state + activations
    return Memory(total=int(total), activations=activations, params=params, optimizer=state,
                  flops=int(flops.get_total_flops()))


def _backward(bench: Bench, model: nn.Module) -> None:
    bench.forward_loss(model).backward()


# ---------------------------------------------------------------- timing


def make_subjects(bench: Bench, ids: list[str], skipped: dict[str, str]) -> list[Subject]:
    """Each method's model, optimizer and merged copy; a method the backbone does not support goes to `skipped`."""
    out = []
    for i in _progress(len(ids), bench.opts.progress, "setup"):
        if ids[i] == PEFT_LORA and "lora" in skipped:
            skipped[PEFT_LORA] = skipped["lora"]
            continue
        try:
            model = bench.applied(ids[i])
        except UnsupportedModelError as exc:
            skipped[ids[i]] = str(exc)
            continue
        opt = bench.optimizer(model)
        used = first_step(bench, model, opt)
        subject = Subject(ids[i], model, opt, bench.merged(ids[i], model), used)
        _warm_inference(bench, subject)
        out.append(subject)
    if out:
        bench.infer(bench.backbone)
    return out


def _warm_inference(bench: Bench, s: Subject) -> None:
    """One untimed inference of each model, so that no round times a first call."""
    s.model.eval()
    bench.infer(s.model)
    if s.merged is not None:
        bench.infer(s.merged)
    s.model.train()


def _rotated(items: list[Subject], k: int) -> list[Subject]:
    """Round-robin with the starting method moved along each round, so no method is always first or last."""
    k %= max(len(items), 1)
    return items[k:] + items[:k]


def run_round(bench: Bench, subjects: list[Subject], k: int) -> None:
    """One train step of every method; then, for every method, the plain backbone, the model and its merged copy
    back to back, so that each inference ratio compares two calls a moment apart."""
    for s in _rotated(subjects, k):
        s.train.append(_timed(bench.device, lambda s=s: bench.train_step(s.model, s.optimizer)))
    for s in subjects:
        s.model.eval()
    for s in _rotated(subjects, k):
        s.backbone.append(_timed(bench.device, lambda: bench.infer(bench.backbone)))
        s.infer.append(_timed(bench.device, lambda s=s: bench.infer(s.model)))
        if s.merged is not None:
            s.merged_infer.append(_timed(bench.device, lambda s=s: bench.infer(s.merged)))  # type: ignore[arg-type]
    for s in subjects:
        s.model.train()


def median_ratio(values: list[float], reference: list[float]) -> float:
    """Median over rounds of value / reference in the same round (exactly 1.0 when they are the same list)."""
    if values is reference:
        return 1.0
    return statistics.median(v / r for v, r in zip(values, reference, strict=True))


# ---------------------------------------------------------------- the whole run


def method_ids(requested: tuple[str, ...], with_peft: bool) -> list[str]:
    """The methods to measure: `full` first if not asked for, peft's LoRA after ours when peft is installed."""
    ids = list(requested) if requested else methods.available()
    ids = ids if BASELINE in ids else [BASELINE, *ids]
    if with_peft and "lora" in ids and PEFT_LORA not in ids and _peft_available():
        ids.insert(ids.index("lora") + 1, PEFT_LORA)
    return ids


def _progress(total: int, enabled: bool, desc: str) -> Iterator[int]:
    from tqdm import tqdm

    yield from tqdm(range(total), desc=desc, disable=not enabled, leave=False)


def run(opts: Options) -> CostResult:
    bench = Bench(opts)
    skipped: dict[str, str] = {}
    try:  # full fine-tuning is the reference: a model it does not support leaves nothing to compare
        methods.get(BASELINE).make(methods.make_config(BASELINE)).check_model(bench.backbone)
    except UnsupportedModelError as exc:
        raise UserError(f"--model: {opts.model}: {exc}") from None
    subjects = make_subjects(bench, method_ids(opts.methods, opts.peft), skipped)
    for k in _progress(opts.warmup + opts.rounds, opts.progress, "rounds"):
        run_round(bench, subjects, k)
    return assemble(bench, subjects, skipped)


def _drop(values: list[float], warmup: int) -> list[float]:
    return values[warmup:]


def assemble(bench: Bench, subjects: list[Subject], skipped: dict[str, str]) -> CostResult:
    w = bench.opts.warmup
    backbone = [t for s in subjects for t in _drop(s.backbone, w)]
    base = next(s for s in subjects if s.method == BASELINE)
    base_train = _drop(base.train, w)
    rows = [row(bench, s, base.memory, base_train) for s in subjects]
    return CostResult(
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine=machine(bench.device), versions=bench.versions, settings=settings(bench),
        backbone_infer_ms=statistics.median(backbone),
        proxy=memory.CUDA_PEAK if bench.device.type == "cuda" else memory.PROXY,
        rows=rows, skipped=skipped,
    )


def row(bench: Bench, s: Subject, full: Memory, base_train: list[float]) -> CostRow:
    w, batch = bench.opts.warmup, bench.opts.batch
    train, infer, backbone = _drop(s.train, w), _drop(s.infer, w), _drop(s.backbone, w)
    merged = _drop(s.merged_infer, w) if s.merged is not None else None
    m = s.memory
    train_ms, infer_ms = statistics.median(train), statistics.median(infer)
    merged_ms = statistics.median(merged) if merged else None
    return CostRow(
        method=s.method, mergeable=s.merged is not None, reference=s.method == PEFT_LORA,
        trainable=trainable(s.method, s.model),
        train_ms=train_ms, train_ratio=median_ratio(train, base_train if s.method != BASELINE else train),
        backbone_ms=statistics.median(backbone), infer_ms=infer_ms, infer_ratio=median_ratio(infer, backbone),
        merged_ms=merged_ms, merged_ratio=median_ratio(merged, backbone) if merged else None,
        merged_same_modules=same_modules(s.merged, bench.backbone) if s.merged is not None else None,
        train_images_per_s=batch / train_ms * 1000.0,
        infer_images_per_s=batch / (merged_ms if merged_ms is not None else infer_ms) * 1000.0,
        memory_bytes=m.total, memory_ratio=m.total / full.total,
        activation_bytes=m.activations, activation_ratio=m.activations / full.activations,
        param_bytes=m.params, optimizer_bytes=m.optimizer,
        train_flops=m.flops, train_flops_ratio=m.flops / full.flops,
    )


# ---------------------------------------------------------------- what the run was


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: torch.device) -> Machine:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)
    return Machine(cpu=cpu_model(), cores=cores, device=name, platform=platform.platform())


def versions() -> Versions:
    import timm

    from .. import __version__

    root = Path(__file__).resolve().parents[2]  # the clone this module lies in
    return Versions(python=platform.python_version(), torch=torch.__version__, timm=timm.__version__,
                    vpeft=__version__, commit=git_commit(root), dirty=git_dirty(root))


def settings(bench: Bench) -> Settings:
    o = bench.opts
    return Settings(model=o.model, batch=o.batch, precision=o.precision, device=bench.device.type,
                    rounds=o.rounds, warmup=o.warmup, num_classes=o.num_classes, image_size=bench.image_size,
                    model_kwargs=o.model_kwargs,
                    optimizer=f"AdamW(lr={LR})", threads=torch.get_num_threads(),
                    memory="cuda-peak" if bench.device.type == "cuda" else "cpu-proxy")

