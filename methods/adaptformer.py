"""AdaptFormer: a scaled bottleneck parallel to every MLP block (Chen et al., NeurIPS 2022, arXiv:2205.13535).

Sources and choices:
- Official code: github.com/ShoufaChen/AdaptFormer, commit 6967d67: `models/adapter.py` (`Adapter`),
  `models/custom_modules.py` (`Block.forward`, `ffn_option="parallel"`) and `main_image.py` (the image settings:
  `ffn_adapter_layernorm_option="none"`, `ffn_adapter_init_option="lora"`, `ffn_adapter_scalar="0.1"`,
  `dropout=0.1`).
- Placement: the adapter reads the residual stream x after attention (not norm2(x)) and its output is added next
  to the MLP branch, outside drop-path: x + drop_path(mlp(norm2(x))) + s * up(dropout(relu(down(x)))).
- Init "lora": down kaiming-uniform (a=sqrt(5)), up weight and both biases zero, so the model starts exactly as
  the backbone (the shared `Bottleneck` with `init="zero_up"`).
- The VTAB-1k row compared with (0.16M) is the Convpass paper's AdaptFormer baseline (Jie & Deng,
  arXiv:2207.07039; the PDF in github.com/JieShibo/PETL-ViT, commit 026e4f1, `convpass/pdf.pdf`): Table 1
  "AdaptFormer 0.16", Sec. 4.1 "the hidden dimension h of Adapter, AdaptFormer and Convpass ... set to 8" and "the
  hyperparameter s of Convpass and AdaptFormer is roughly searched from {0.01, 0.1, 1, 10, 100}" (per task; the
  chosen values are not published), Sec. 2.2 X' = X + MLP(X) + s * phi(X W_down) W_up (no LayerNorm). So that
  setting is `dim=8`, `layernorm="none"` and `scale` per task from that grid. NOAH's table has no AdaptFormer row.
- Bottleneck size: the official image default is 64 (`main_image.py` `--ffn_num`); default `dim=8`, the VTAB-1k
  setting above (also V-PETL Bench `scripts/run_vit_adaptformer.sh` topN=8).
- Scale: default 0.1, the official image setting. V-PETL Bench's VTAB code (github.com/synbol/Parameter-
  Efficient-Transfer-Learning-Benchmark, commit c188fad, `ImageClassification/models/vision_transformer_adaptformer.py`
  L196-L252) uses `adapter_scalar="1.0"` and `adapter_layernorm_option="in"` (an input LayerNorm, 2*768 more per
  block: 175,200 = 0.18M). `learnable_scale=True` is the official "learnable_scalar" option (starts at 1.0 there;
  here at `scale`).
- Init actually used by V-PETL Bench: its `Adaptformer` writes the "lora" init (L225-L230), but the model's
  `init_weights` (L407 -> `init_weights_vit_timm` L482-L487) then re-draws every nn.Linear, down_proj AND
  up_proj, from timm trunc-normal std 0.02 with zero biases, so its model does not start as the backbone.
  `init="official-reinit"` gives that; V-PETL Bench's setting is `scale=1.0, layernorm="in",
  init="official-reinit"`. The official AdaptFormer code has no such re-init (default `init="lora"`).
- Count on ViT-B/16 with the defaults: 12 * (768*8 + 8 + 8*768 + 768) = 156,768 = 0.16M (published 0.16M).
- Swin (family "swin"): the same parallel adapter in every window-attention block, sized to its stage's width,
  with the official image placement (reading the residual stream x, outside drop-path). V-PETL Bench's only Swin
  AdaptFormer (commit c188fad, `VideoActionRecognition/models/video_swin_transformer_AdaptFormer.py` L118-L139,
  a 3-D video Swin) places it inside the MLP instead, reading the MLP's input norm2(x), inside drop-path; that
  placement is not an option here.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from . import _vit
from ._blocks import insert_per_block_sized
from .base import Method, MethodConfig
from .layers.adapter import Bottleneck
from .registry import register


class AdaptFormerConfig(MethodConfig):
    dim: int = Field(8, ge=1)  # V-PETL Bench run_vit_adaptformer.sh topN=8 (commit c188fad)
    scale: float = 0.1  # official main_image.py ffn_adapter_scalar="0.1" (commit 6967d67)
    learnable_scale: bool = False  # official option "learnable_scalar" (starts at 1.0 there; here at `scale`)
    dropout: float = Field(0.1, ge=0, lt=1)  # official Adapter(dropout=0.1)
    layernorm: Literal["none", "in"] = "none"  # official image setting "none"; V-PETL Bench "in"
    init: Literal["lora", "official-reinit"] = "lora"  # official "lora"; V-PETL Bench in effect N(0, .02^2) both


class AdaptMLP(nn.Module):
    """Optional input LayerNorm followed by the scaled ReLU bottleneck."""

    def __init__(self, dim: int, cfg: AdaptFormerConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim) if cfg.layernorm == "in" else nn.Identity()
        init = "zero_up" if cfg.init == "lora" else cfg.init
        self.bottleneck = Bottleneck(
            dim, cfg.dim, act="relu", init=init, scale=cfg.scale, learnable_scale=cfg.learnable_scale,
            dropout=cfg.dropout,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottleneck(self.norm(x))


def _adaptformer_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    x = x + _vit.attn_branch(block, x, attn_mask, is_causal)
    return x + _vit.mlp_branch(block, x) + block.adaptformer(x)


@register("adaptformer", config=AdaptFormerConfig, mergeable=False, identity_at_init=True, paper="2205.13535",
          families=("vit", "swin"))
class AdaptFormer(Method):
    cfg: AdaptFormerConfig

    def identity_at_init(self) -> bool:
        return self.cfg.init == "lora"

    def apply(self, model: nn.Module) -> None:
        make = lambda dim: {"adaptformer": AdaptMLP(dim, self.cfg)}  # noqa: E731 - one fresh adapter per block
        insert_per_block_sized(model, self.spec.id, make, _adaptformer_block_forward)
