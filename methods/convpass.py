"""Convpass: convolutional bypasses parallel to attention and MLP (Jie & Deng, 2022, arXiv:2207.07039).

Sources and choices:
- Official code: github.com/JieShibo/PETL-ViT, commit 026e4f1, `convpass/vtab/convpass.py` (`Convpass`,
  `forward_block`, `set_Convpass`) and `convpass/vtab/train.py` (dim=8).
- Placement: two bypasses per block, reading norm1(x) and norm2(x) and added to the residual stream next to the
  attention and MLP branches, times the scale s, after drop-path: x + attn(n1) + s*conv(n1), then the same for the
  MLP. `placement="attn"` is the official `convpass_attn` variant (attention bypass only).
- Bypass: Linear(C, 8) (xavier weight, zero bias) -> QuickGELU -> 3x3 conv 8->8 on the patch grid (the class token
  as a 1x1 image, as the official `forward`; computed here, equally, as the kernel's centre tap and bias, a linear
  map, `layers/token_grid.conv_centre`) -> QuickGELU -> Dropout(0.1) -> Linear(8, C) with zero weight and bias,
  so the model starts as the backbone. The conv starts as the identity (zero kernel plus an identity centre tap,
  `xavier_init=False`) or xavier; the official per-task YAMLs use both (9 tasks identity, 10 xavier) - we default
  to the identity start.
- Scale s: per task in the YAMLs (0.01 ... 100; 0.1, 1 and 10 are equally common); default 1.0.
- Differences from the official code: sizes come from the model (not hard-coded 768 / 14x14), register tokens are
  treated like the class token, and with LayerScale backbones the bypass is not multiplied by the layer scale
  (the official code targets ViTs without it). With a Dropout-free drop-path model both agree exactly.
- Count on ViT-B/16: 24 bypasses x (768*8+8 + 8*8*9+8 + 8*768+768) = 24 * 13,648 = 327,552 = 0.33M, the paper's
  0.33M (Table 1 of arXiv:2207.07039); V-PETL Bench has no Convpass entry.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .layers.token_grid import QuickGELU, conv_tokens, model_grid
from .registry import register


class ConvpassConfig(MethodConfig):
    dim: int = Field(8, ge=1)  # official train.py: dim=8
    scale: float = 1.0  # per-task s in the official YAMLs; 0.1 / 1 / 10 tie as most common
    xavier_init: bool = False  # False: conv starts as identity (official flag, split ~evenly over tasks)
    dropout: float = Field(0.1, ge=0, lt=1)  # official nn.Dropout(0.1)
    placement: Literal["both", "attn"] = "both"  # official "convpass" / "convpass_attn"


class ConvBypass(nn.Module):
    """Linear down -> QuickGELU -> 3x3 conv on the token grid -> QuickGELU -> dropout -> Linear up (zero)."""

    def __init__(self, embed_dim: int, cfg: ConvpassConfig, n_prefix: int, grid: tuple[int, int] | None) -> None:
        super().__init__()
        d = cfg.dim
        self.down = nn.Linear(embed_dim, d)
        self.conv = nn.Conv2d(d, d, 3, 1, 1)
        self.up = nn.Linear(d, embed_dim)
        self.act = QuickGELU()
        self.dropout = nn.Dropout(cfg.dropout)
        self.n_prefix, self.grid = n_prefix, grid
        nn.init.xavier_uniform_(self.down.weight)
        nn.init.zeros_(self.down.bias)
        if cfg.xavier_init:
            nn.init.xavier_uniform_(self.conv.weight)
        else:
            with torch.no_grad():
                self.conv.weight.zero_()
                self.conv.weight[:, :, 1, 1] = torch.eye(d)
        nn.init.zeros_(self.conv.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.down(x))
        h = conv_tokens(h, self.n_prefix, self.grid, self.conv)
        return self.up(self.dropout(self.act(h)))


def _convpass_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    s = block.convpass_scale
    h = block.norm1(x)
    attn = block.ls1(block.attn(h, attn_mask=attn_mask, is_causal=is_causal))
    x = x + block.drop_path1(attn) + block.drop_path1(block.convpass_attn(h)) * s
    h = block.norm2(x)
    x = x + block.drop_path2(block.ls2(block.mlp(h)))
    if hasattr(block, "convpass_mlp"):
        x = x + block.drop_path2(block.convpass_mlp(h)) * s
    return x


@register("convpass", config=ConvpassConfig, mergeable=False, identity_at_init=True, paper="2207.07039")
class Convpass(Method):
    cfg: ConvpassConfig

    def apply(self, model: nn.Module) -> None:
        blocks = _vit.require_standard_blocks(model, self.spec.id)
        dim, n_prefix, grid = _vit.embed_dim(model), _vit.num_prefix_tokens(model), model_grid(model)
        ref = model.blocks[0].norm1.weight
        for block in blocks:
            block.convpass_attn = ConvBypass(dim, self.cfg, n_prefix, grid).to(ref.device, ref.dtype)
            if self.cfg.placement == "both":
                block.convpass_mlp = ConvBypass(dim, self.cfg, n_prefix, grid).to(ref.device, ref.dtype)
            block.convpass_scale = self.cfg.scale
            _vit.set_forward(block, _convpass_block_forward)
