"""NOAH: Neural Prompt Search (Zhang, Zhou, Liu, arXiv:2206.04673), the retrained subnet of its supernet.

NOAH trains a supernet holding, in every block, a visual prompt, a LoRA pair on the fused qkv and an adapter after
the MLP, searches per-block sizes for each task, and retrains the chosen subnet. This id builds that subnet: one
size per block for each of the three modules (0 = no module in that block). The searched subnets of the 19
VTAB-1k tasks are released with the official code and shipped here as data (`noah_subnets.yaml`, one entry per
catalog task id, with the official file and commit): `task="cifar100"` loads one.

Sources (github.com/ZhangYuanhan-AI/NOAH, commit e9c55f3; `model/supernet_vision_transformer_timm.py` unless
named otherwise):
- Retraining (`configs/NOAH/VTAB/subnet/slurm_retrain_vtab.sh`, `supernet_train_prompt.py` L387-L389,
  `supernet_engine_prompt.py` `train_one_epoch`): the model is built as the supernet of the subnet YAML (every size
  100), loaded with the pretrained ViT-B/16 .npz (the README's step 4 passes the pretrained model, not a trained
  supernet), and `set_sample_config(RETRAIN)` slices every module to its searched size before each step. The
  sliced-off rows never take part in the forward and get no gradient, so the subnet is exactly modules of the
  searched sizes, which is what we build.
- LoRA (`Attention`, L224-L229, L248-L256, L272-L281): one pair on the fused qkv, delta = B (A dropout(x)), no
  alpha / r scaling, dropout `--drop_rate_LoRA` 0.1 (`supernet_train_prompt.py` L207). Our `LoRALinear` with
  alpha = r (scaling 1).
- Adapter (`model/module/adapter_super.py` L12-L62; placement L365): y + up(dropout(quick_gelu(down(y)))) on the
  drop-path'ed MLP output, `x + adapter(drop_path(mlp(norm2(x))))`; dropout `--drop_rate_adapter` 0.1 (L209).
  Our shared `Bottleneck` with `act="quick_gelu"`.
- Visual prompts (`Block`, L314-L319, L354-L363): block i appends its d_i prompt tokens (expanded to the batch,
  then `drop_prompt`, dropout `--drop_rate_prompt` 0.1, L208) at the END of the sequence, after removing the last
  d_{i-1} tokens (the previous block's prompts) when d_{i-1} > 0 (L360-L363). A block with d_i = 0 leaves the
  sequence as it is, so prompts of an earlier block then travel on, and a later block appends without removing
  them. We keep exactly this bookkeeping. After the last block the remaining prompt tokens are removed (ours,
  before the final norm); the official model keeps them through the norm and pools `x[:, 0]` (L646), the same
  output for the class token since the norm is per token; for average-pooling models removing them keeps the
  prompts out of the mean.
- The model-level prompt (`visual_prompt_token` plus `visual_prompt_token_pos_embed`, L448-L455, inserted by
  `forward_features` L635-L640) is dead in the retrained subnet: `set_sample_config` (L586-L607) gives block 0
  `sample_last_prompt_tuning_dim = d_0`, so block 0 removes those d_0 tokens before any computation and puts its
  own in their place. They get no gradient, and we do not create them. The official parameter count
  (`get_sampled_params_numel`, L609-L623) counts them anyway (d_0 x 768 plus the whole 100 x 768 position
  embedding).
- Init actually used: `VisionTransformer.__init__` ends with `init_weights` (L462), whose `_init_vit_weights`
  (L531, L684-L688) re-draws every nn.Linear: LoRA A and B and both adapter weights from trunc-normal std 0.02,
  adapter biases zero, whatever the LoRA / adapter classes wrote (`init="official-reinit"` of our layers, the
  default here). Prompts keep their xavier-uniform init on the supernet tensor of shape (1, 100, 768) (L319):
  U(-b, b) with b = sqrt(6 / ((100 + 1) * 768)); the slice keeps that bound, so ours draws
  U(-b, b) with b = sqrt(6 / ((prompt_init_size + 1) * dim)), `prompt_init_size` = 100 (the supernet size).
- Train mode: `freeze_stages` (L467-L484) puts the frozen blocks in eval mode, but `train_one_epoch` calls
  `model.train()` first, so during training every dropout and drop-path of the model is active; we leave
  train/eval to the caller, as for every method here.
- Not implemented: NOAH's fourth module, prefix tokens on keys / values (`PREFIX_DIM`), which is 0 in every block
  of all 19 released VTAB-1k subnets.

Count on ViT-B/16 (C = 768), per block: prompts d_p C, LoRA r (C + 3C), adapter d_a (2C + 1) + C when d_a > 0.
The mean over the 19 released subnets is 0.36M (Convpass's and Hydra's tables print 0.36M, FacT's 0.361M);
NOAH's Table 1 and V-PETL Bench print 0.43M, which neither these modules (0.360M) nor the official counter with
its dead prompt and position embedding (0.443M) gives (computed in tests/methods/test_noah.py).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import torch
import yaml
from pydantic import Field, model_validator
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .layers.adapter import Bottleneck, Init
from .layers.lowrank import LoRAInit, LoRALinear
from .registry import register

SUBNETS_FILE = Path(__file__).with_name("noah_subnets.yaml")
_KINDS = ("visual_prompt_dim", "lora_dim", "adapter_dim")


@functools.cache
def released_subnets() -> dict[str, Any]:
    """The shipped copy of NOAH's released VTAB-1k subnets (`noah_subnets.yaml`): repository, commit, tasks."""
    with SUBNETS_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def subnet(task: str) -> dict[str, tuple[int, ...]]:
    """The per-block sizes of the released subnet for a VTAB-1k task id; a ValueError naming the tasks otherwise."""
    tasks = released_subnets()["tasks"]
    if task not in tasks:
        raise ValueError(f"noah: no released subnet for task {task!r}; tasks: {', '.join(tasks)}")
    return {k: tuple(tasks[task][k]) for k in _KINDS}


Dims = int | tuple[int, ...] | None


class NOAHConfig(MethodConfig):
    # a VTAB-1k task id whose released subnet to build (noah_subnets.yaml)
    task: str | None = None
    # per-block sizes (block 0 first), or one number for every block; given with `task`, they replace that module's
    # sizes of the task's subnet. Unset and no task: 10, the largest size of the VTAB search space
    # (experiments/NOAH/supernet/supernet-B_prompt_VTAB.yaml SEARCH_SPACE: 1, 5, 10)
    visual_prompt_dim: Dims = None
    lora_dim: Dims = None
    adapter_dim: Dims = None
    lora_dropout: float = Field(0.1, ge=0, lt=1)  # supernet_train_prompt.py L207 --drop_rate_LoRA
    prompt_dropout: float = Field(0.1, ge=0, lt=1)  # L208 --drop_rate_prompt
    adapter_dropout: float = Field(0.1, ge=0, lt=1)  # L209 --drop_rate_adapter
    lora_init: LoRAInit = "official-reinit"  # A, B ~ N(0, .02^2): the model-level re-init (L462)
    adapter_init: Init = "official-reinit"  # weights N(0, .02^2), biases 0: the same re-init
    prompt_init_size: int = Field(100, ge=1)  # xavier bound of the (1, 100, C) supernet prompt (SUPERNET size)

    @model_validator(mode="after")
    def _check_sizes(self) -> NOAHConfig:
        if self.task is not None:
            subnet(self.task)
        for k in _KINDS:
            dims = getattr(self, k)
            values = (0,) if dims is None else (dims,) if isinstance(dims, int) else dims
            if not values or min(values) < 0:
                raise ValueError(f"noah: {k} must be a size >= 0 or a non-empty list of them")
        return self

    def sizes(self, depth: int) -> dict[str, tuple[int, ...]]:
        """Per-block sizes of each module for a model of `depth` blocks; ValueError if a list does not fit."""
        released = subnet(self.task) if self.task else {}
        out = {}
        for k in _KINDS:
            dims = getattr(self, k)
            dims = released.get(k, 10) if dims is None else dims
            dims = (dims,) * depth if isinstance(dims, int) else dims
            if len(dims) != depth:
                raise ValueError(f"noah: {k} has {len(dims)} sizes but the model has {depth} blocks")
            out[k] = dims
        return out


def _check_plain(attn_mask: torch.Tensor | None, is_causal: bool) -> None:
    if attn_mask is not None or is_causal:
        raise ValueError("noah: attention masks / is_causal are not supported (prompts change the sequence length)")


def _noah_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    """Official `Block.forward` (L354-L366): swap prompts at the end, attention (LoRA inside qkv), MLP + adapter."""
    _check_plain(attn_mask, is_causal)
    if hasattr(block, "noah_prompt"):
        if block.noah_drop_previous:
            x = x[:, : x.shape[1] - block.noah_drop_previous]
        prompts = block.noah_prompt_dropout(block.noah_prompt.unsqueeze(0).expand(x.shape[0], -1, -1))
        x = torch.cat([x, prompts.to(x.dtype)], dim=1)
    x = x + _vit.attn_branch(block, x, None, False)
    y = block.drop_path2(block.ls2(block.mlp(block.norm2(x))))
    if hasattr(block, "noah_adapter"):
        y = y + block.noah_adapter(y)
    x = x + y
    if block.noah_strip:  # after the last block: the prompt tokens still in the sequence
        x = x[:, : x.shape[1] - block.noah_strip]
    return x


def _prompt_schedule(dims: tuple[int, ...]) -> tuple[list[int], int]:
    """(tokens each block removes before appending its own, prompt tokens left after the last block)."""
    drop, present = [], 0
    for i, d in enumerate(dims):
        previous = dims[i - 1] if i > 0 else 0
        drop.append(previous if d > 0 else 0)
        if d > 0:
            present += d - previous
    return drop, present


@register("noah", config=NOAHConfig, mergeable=False, identity_at_init=False, paper="2206.04673")
class NOAH(Method):
    cfg: NOAHConfig

    @classmethod
    def tiny_model_options(cls) -> dict[str, Any]:
        # the released subnets have 12 blocks; the smoke run's recipe gives a task, whose sizes these replace
        return {"visual_prompt_dim": 2, "lora_dim": 2, "adapter_dim": 2}

    def check_model(self, model: nn.Module) -> None:
        self.cfg.sizes(len(_vit.require_standard_blocks(model, self.spec.id)))

    def apply(self, model: nn.Module) -> None:
        blocks = _vit.require_standard_blocks(model, self.spec.id)
        sizes, dim, cfg = self.cfg.sizes(len(blocks)), _vit.embed_dim(model), self.cfg
        drop, left = _prompt_schedule(sizes["visual_prompt_dim"])
        bound = math.sqrt(6.0 / ((cfg.prompt_init_size + 1) * dim))
        for i, block in enumerate(blocks):
            ref = block.norm1.weight
            p, r, a = (sizes[k][i] for k in _KINDS)
            if p:
                prompt = torch.empty(p, dim, device=ref.device, dtype=ref.dtype)
                block.noah_prompt = nn.Parameter(nn.init.uniform_(prompt, -bound, bound))
                block.noah_prompt_dropout = nn.Dropout(cfg.prompt_dropout)
                block.noah_drop_previous = drop[i]
            if r:
                block.attn.qkv = LoRALinear(block.attn.qkv, r, float(r), cfg.lora_dropout, None, cfg.lora_init)
            if a:
                adapter = Bottleneck(dim, a, act="quick_gelu", init=cfg.adapter_init, dropout=cfg.adapter_dropout)
                block.noah_adapter = adapter.to(ref.device, ref.dtype)
            block.noah_strip = left if i == len(blocks) - 1 else 0
            _vit.set_forward(block, _noah_block_forward)

    def owns(self, name: str) -> bool:
        # the LoRA pairs keep LoRALinear's names (blocks.{i}.attn.qkv.lora_A / lora_B)
        return super().owns(name) or name.rsplit(".", 1)[-1] in ("lora_A", "lora_B")
