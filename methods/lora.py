"""LoRA: low-rank updates of the attention projection (Hu et al., 2021, arXiv:2106.09685).

Sources and choices:
- Paper Sec. 4.2 / 7.1: W' = W + (alpha / r) B A, A random, B zero (so the model starts as the backbone), applied
  to W_q and W_v. Official code microsoft/LoRA `loralib/layers.py` (commit 3f5c193): A kaiming-uniform with
  a=sqrt(5), B zeros, dropout on the input of the low-rank branch (`lora_dropout`, default 0).
- Default `target="qkv"`: one (A, B) pair on timm's fused qkv layer, exactly what Hugging Face `peft` does with
  `target_modules=["qkv"]` (weights convert both ways: `methods.peft_interop`), and NOAH's form (below).
  `target="q,v"` gives the paper's separate pairs on the q and v rows of the fused layer (V-PETL Bench's form).
  Both have the same count on ViT-B/16 with r=8:
  12 * (8*768 + 8*2304) = 12 * 2 * (8*768 + 8*768) = 294,912 = 0.29M, the VTAB-1k figure.
- The VTAB-1k number compared with (0.29M row) is NOAH's (arXiv:2206.04673, Table 1, copied by V-PETL Bench;
  the same 19 numbers are in `figures/table1.jpg` of the NOAH repository at commit e9c55f3).
  NOAH's code (github.com/ZhangYuanhan-AI/NOAH, commit e9c55f3, `model/supernet_vision_transformer_timm.py`):
  one pair on the fused qkv, `LoRA_a` (C -> r) and `LoRA_b` (r -> 3C), no alpha/r scaling, `LoRA_drop` on the
  branch input (L225-L229, L242, L277-L281), rank 8 (`experiments/LoRA/ViT-B_prompt_lora_8.yaml`) and dropout
  `--drop_rate_LoRA` default 0.1 (`supernet_train_prompt.py` L207; `configs/LoRA/VTAB/slurm_train_lora_vtab.sh`
  does not override it). Its class writes A kaiming / B zero, but `VisionTransformer.__init__` then calls
  `init_weights` (L462), which runs `_init_vit_weights` on every Linear (L531, L684-L688): trunc-normal std 0.02,
  so in effect A AND B start at N(0, 0.02^2) and the model is not the backbone at step 0.
  That setting is `target="qkv", dropout=0.1, init="official-reinit"` (alpha = r, the default).
- V-PETL Bench (github.com/synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit c188fad,
  `ImageClassification/models/vision_transformer_lora.py`): separate q/v pairs without scaling or dropout
  (L99-L119), rank from `--topN 8` in `scripts/run_vit_lora.sh`, which overrides the YAMLs' 96
  (`train/train_model_lora.py` L116-L119). Its written init (L105-L108) is overwritten by `init_weights` (L287):
  all four matrices N(0, 0.02^2). That setting is `target="q,v", init="official-reinit"`.
- Defaults follow the paper and loralib: `init="paper"` (B = 0, the model starts as the backbone), dropout 0
  (loralib's default), alpha = r (scaling 1: NOAH and V-PETL Bench have no extra scaling; peft's r=8,
  lora_alpha=8 default).
- Swin (family "swin"): the paper's definition is per attention layer (W_q, W_v; Sec. 4.2), and timm's
  `WindowAttention` has the same fused `attn.qkv` that it calls as `self.qkv(x)`, so the same pairs go on every
  window-attention block; each takes its stage's width. (V-PETL Bench at commit c188fad has no Swin LoRA to
  compare with: `VideoActionRecognition/models/video_swin_transformer_LoRA.py` holds adapter code only.)
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .layers.lowrank import LoRAInit, LoRALinear
from .registry import register


class LoRAConfig(MethodConfig):
    r: int = Field(8, ge=1)  # NOAH Table 1 / V-PETL Bench VTAB-1k: rank 8
    alpha: float = Field(8.0, gt=0)  # scaling alpha / r = 1
    dropout: float = Field(0.0, ge=0, lt=1)  # loralib default 0; NOAH's VTAB-1k LoRA: 0.1 (--drop_rate_LoRA)
    target: Literal["qkv", "q,v"] = "qkv"  # fused qkv (NOAH, peft) or the paper's q and v (V-PETL Bench)
    init: LoRAInit = "paper"  # A kaiming, B 0; "official-reinit": A, B ~ N(0, .02^2) as NOAH / V-PETL in effect


@register("lora", config=LoRAConfig, mergeable=True, identity_at_init=True, paper="2106.09685",
          families=("vit", "swin"))
class LoRA(Method):
    cfg: LoRAConfig

    def identity_at_init(self) -> bool:
        return self.cfg.init == "paper"

    def apply(self, model: nn.Module) -> None:
        for name, qkv in list(_vit.block_linears(model, "attn.qkv", self.spec.id)):
            d = qkv.out_features // 3
            slices = [(0, 3 * d)] if self.cfg.target == "qkv" else [(0, d), (2 * d, 3 * d)]
            layer = LoRALinear(qkv, self.cfg.r, self.cfg.alpha, self.cfg.dropout, slices, self.cfg.init)
            _vit.replace_module(model, name, layer)

    def merge(self, model: nn.Module) -> None:
        for name, mod in list(model.named_modules()):
            if isinstance(mod, LoRALinear):
                _vit.replace_module(model, name, mod.merge())

