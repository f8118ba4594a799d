"""The learning rate of an epoch, as the reference trainers compute it. A pure function of the epoch, so a resumed
run gets the same rates.

- timm-cosine: timm's CosineLRScheduler (t_in_epochs, no warmup_prefix): linear warm-up from `warmup_init` over
  `warmup` epochs, cosine from `base` to `min_lr` over `cosine` epochs counted from epoch 0 (the warm-up is inside),
  then `min_lr` (timm's cool-down). NOAH, V-PETL Bench, Convpass, FacT, RepAdapter, SSF and Hydra use it.
- vpt-warmup-cosine: VPT's WarmupCosineSchedule (src/solver/lr_scheduler.py at 4410440, L41-L65): linear warm-up
  over `warmup` epochs, then cosine over the remaining `cosine - warmup` epochs.
- Stepping: `epoch-start` means epoch e trains at lr(e) (VPT's LambdaLR stepped after each epoch; timm's train.py
  calling step(epoch + 1)). `after-epoch` means the trainer calls step(e) after epoch e, as NOAH
  (supernet_train_prompt.py L414) and the PETL-ViT scripts do, so epoch e trains at lr(e - 1) and epochs 0 and 1
  both train at lr(0).
"""

from __future__ import annotations

import math


def _timm_cosine(t: int, base: float, cosine: int, warmup: int, warmup_init: float, min_lr: float) -> float:
    if t < warmup:
        return warmup_init + t * (base - warmup_init) / warmup
    if t >= cosine:
        return min_lr
    return min_lr + 0.5 * (base - min_lr) * (1 + math.cos(math.pi * t / cosine))


def _vpt_cosine(t: int, base: float, cosine: int, warmup: int, warmup_init: float, min_lr: float) -> float:
    if t < warmup:
        return warmup_init + t * (base - warmup_init) / warmup
    progress = (t - warmup) / max(1, cosine - warmup)
    return min_lr + (base - min_lr) * max(0.0, 0.5 * (1 + math.cos(math.pi * progress)))


def lr_at(epoch: int, base: float, epochs: int, warmup: int, warmup_init: float, min_lr: float,
          shape: str = "timm-cosine", step: str = "epoch-start", cosine_epochs: int | None = None) -> float:
    """The lr that 0-based `epoch` trains at; `epochs` is the schedule's length unless `cosine_epochs` is given."""
    t = max(epoch - 1, 0) if step == "after-epoch" else epoch
    curve = _vpt_cosine if shape == "vpt-warmup-cosine" else _timm_cosine
    return curve(t, base, cosine_epochs or epochs, warmup, warmup_init, min_lr)
