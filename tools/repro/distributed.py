"""DDP under `torchrun --nproc_per_node N tools/reproduce ...`: one run split over N processes.

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK. Training splits each global batch (the recipe's batch size) over the
ranks with a DistributedSampler and averages gradients (DistributedDataParallel); evaluation gives every rank a
disjoint, unpadded slice of the split and sums the correct counts, so each image is counted exactly once. Only
rank 0 writes files (run folder, checkpoints, records); the other ranks wait at barriers where they read them.
Without torchrun (WORLD_SIZE unset or 1) every function here is a no-op and the run is the single-process one.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import torch

from ..errors import UserError


def world() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def active() -> bool:
    return world() > 1 and torch.distributed.is_available() and torch.distributed.is_initialized()


def rank() -> int:
    return torch.distributed.get_rank() if active() else 0


def is_main() -> bool:
    return rank() == 0


def setup(requested: str | None) -> str | None:
    """Join the process group torchrun describes; the device of this rank (cuda:LOCAL_RANK), or `requested`."""
    if world() <= 1 or active():
        return requested
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and (requested is None or requested.startswith("cuda"))
    if cuda:
        torch.cuda.set_device(local)
    torch.distributed.init_process_group("nccl" if cuda else "gloo")
    if not is_main():
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 -- one report, from rank 0
    return f"cuda:{local}" if cuda else (requested or "cpu")


def barrier() -> None:
    if active():
        torch.distributed.barrier()


def teardown() -> None:
    if active():
        torch.distributed.destroy_process_group()


def per_rank_batch(batch_size: int) -> int:
    """The recipe's batch is global: each rank takes an equal part of it."""
    n = world() if active() else 1
    if batch_size % n:
        raise UserError(f"--nproc_per_node {n}: the batch size {batch_size} does not split evenly over the "
                        f"processes; use a divisor of {batch_size} or --set batch_size=...")
    return batch_size // n


def eval_indices(count: int) -> list[int]:
    """This rank's images of a split: every N-th from its rank, no padding, so the ranks cover each one once."""
    return list(range(rank(), count, world())) if active() else list(range(count))


def _summed(values: list[float], dtype: torch.dtype, device: Any) -> list[float]:
    if not active():
        return values
    both = torch.tensor(values, dtype=dtype, device=device if torch.distributed.get_backend() == "nccl" else "cpu")
    torch.distributed.all_reduce(both)
    return both.tolist()


def sum_counts(correct: int, seen: int, device: Any) -> tuple[int, int]:
    """The correct predictions and images evaluated, summed over the ranks."""
    total = _summed([correct, seen], torch.long, device)
    return int(total[0]), int(total[1])


def sum_loss(loss_sum: float, seen: int, device: Any) -> tuple[float, int]:
    """An epoch's summed loss and images trained, over the ranks (the log shows the global mean loss)."""
    total = _summed([loss_sum, seen], torch.float64, device)
    return float(total[0]), int(total[1])


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around the model for training (gradients averaged over the ranks)."""
    if not active():
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
