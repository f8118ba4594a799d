"""Device choice, mixed precision and memory measurement: CUDA features only behind checks, CPU always works."""

from __future__ import annotations

import contextlib
import resource
import sys
from collections.abc import Iterator

import torch

from ..errors import UserError


def pick(requested: str | None) -> torch.device:
    """`--device` (cpu, cuda, cuda:1, ...) or CUDA when present, else CPU."""
    if requested is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UserError(f"--device {requested}: not a device name (cpu, cuda, cuda:1, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {requested}: CUDA is not available on this machine (use --device cpu)")
    if device.type == "mps" and not (torch.backends.mps.is_built() and torch.backends.mps.is_available()):
        raise UserError(f"--device {requested}: MPS (Apple GPU) is not available on this machine (use --device cpu)")
    if device.type not in {"cpu", "cuda", "mps"}:
        raise UserError(f"--device {requested}: not supported by reproduce (cpu, cuda, cuda:1, mps)")
    return device


def describe(device: torch.device) -> str:
    """The accelerator's model name for the record (the device string alone does not say which GPU)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"{device.type} ({platform.processor() or platform.machine()})"


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision only on CUDA: bfloat16 where supported, else float16 (with a grad scaler)."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[None]:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    return torch.amp.GradScaler("cuda") if dtype == torch.float16 else None


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> tuple[float, str]:
    """Peak accelerator memory, or on CPU the process's peak resident memory."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda max_memory_allocated"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 2**10), "process peak RSS (CPU)"


@contextlib.contextmanager
def no_grad_eval(model: torch.nn.Module) -> Iterator[None]:
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was)
