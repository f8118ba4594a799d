"""The learning rate of an epoch: linear warm-up, then cosine decay (timm CosineLRScheduler stepped per epoch,
as the V-PETL Bench and VPT trainers do). A pure function of the epoch, so a resumed run gets the same rates."""

from __future__ import annotations

import math


def lr_at(epoch: int, base: float, epochs: int, warmup: int, warmup_init: float, min_lr: float) -> float:
    if epoch < warmup:
        return warmup_init + epoch * (base - warmup_init) / warmup
    return min_lr + 0.5 * (base - min_lr) * (1 + math.cos(math.pi * epoch / epochs))
