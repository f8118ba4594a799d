"""A saved file of a peft-bridged method (`peft_bridge`) as a peft adapter folder: `peft_interop.to_peft` calls this.

Our tensors already have peft's module names (the bridge lets peft wrap the layers), with the adapter name
`default` in them. peft saves an adapter without it and under `base_model.model.`
(`get_peft_model_state_dict` drops `.default`), so that is the whole renaming. The trained head travels as
`modules_to_save=["head"]`, as for our LoRA. Tensors that do not train (VeRA's projections, FourierFT's indices)
are written too (peft loads them into the layers' buffers), and projections shared by every layer also once at
model level, where peft's VeRA-like tuners expect them (`shared_projections`). The config is peft's
own config object for our typed config, saved by peft (`PeftConfig.save_pretrained`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from . import _peft_tuners as pt

WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
PREFIX = "base_model.model."


def peft_state_dict(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our names -> peft's saved names."""
    return {PREFIX + key.replace(f".{pt.ADAPTER}", ""): t.contiguous().clone() for key, t in tensors.items()}


def shared_projections(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Model-level copies of the projections every layer shares (VeRA's vera_A / vera_B): peft saves and loads
    them once, as `base_model.vera_A`, where our file has the same tensor under every layer that uses it.
    Candidates are the non-trainable tensors (no trainable prefix) named `*_A` / `*_B`; the per-layer copies stay
    (peft loads those into the same shared buffer)."""
    out: dict[str, torch.Tensor] = {}
    for key, t in tensors.items():
        name = key.partition(f".{pt.ADAPTER}")[0].rpartition(".")[2]
        if f".{pt.ADAPTER}" in key and prefix not in key and name.endswith(("_A", "_B")):
            out.setdefault(f"base_model.{name}", t.contiguous().clone())
    return out


def write_adapter(cls: Any, cfg: pt.PeftTunerConfig, tensors: dict[str, torch.Tensor], out: Path) -> Path:
    """Write the adapter folder `out` for the bridged method class `cls` (a `peft_bridge.PeftTuner`)."""
    config = pt.peft_config(cls.peft_type, cfg, cls.fixed)
    weights = peft_state_dict(tensors)
    if getattr(config, "save_projection", False):
        shared = shared_projections(tensors, cls.spec.prefix)
        weights.update(shared)
        # FRoD keeps its projections on peft's tuner object, outside the model, so our file has none: peft then
        # rebuilds them from the base weights at load, as our load does, when told they were not saved
        config.save_projection = bool(shared)
    # the head: the saved tensors that peft did not add (everything peft adds carries the adapter name)
    heads = sorted({k.rpartition(".")[0] for k in tensors if f".{pt.ADAPTER}" not in k})
    config.modules_to_save = heads or None
    config.inference_mode = True
    out.mkdir(parents=True, exist_ok=True)
    save_file(weights, os.fspath(out / WEIGHTS_FILE), metadata={"format": "pt"})
    config.save_pretrained(os.fspath(out))
    return out
