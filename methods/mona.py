"""Mona: multi-cognitive visual adapter (Yin et al., "5%>100%: Breaking Performance Shackles of Full Fine-Tuning
on Visual Recognition Tasks", CVPR 2025, arXiv:2408.08345).

Sources and choices:
- Official code: github.com/Leiyi-Hu/mona, commit 5deeac9,
  `Swin-Transformer-Classification/mmcls/models/backbones/swin_transformer_mona.py` (`MonaOp`, `Mona`,
  `SwinTransformerBlock.forward`). The paper and code use Swin; this module targets timm ViTs and, as family
  "swin", timm's SwinTransformer: there the official placement applies as it is (L320-L342: Mona on the
  (B, H*W, C) stream after each residual add, its convs on the whole (H, W) map of the stage, not per window;
  timm's block holds the stream as the (B, H, W, C) map, so the convs run on it directly, `FeatureMapConv`), each
  Mona sized to its stage's width.
- Placement: two Monas per block, applied sequentially to the residual stream, one after the attention residual add
  and one after the MLP residual add (`my_module_1` / `my_module_2` in the official block).
- One Mona: x + up(dropout(gelu(convs(down(norm(x) * gamma + x * gammax))))), with its own LayerNorm, gamma
  initialised to 1e-6 and gammax to 1 (the "scaled LayerNorm" input), down C -> 64 and up 64 -> C linear layers,
  Dropout(0.1). The bottleneck is the shared `Bottleneck` with the convolutions as its `mid` module.
- Convs (official `MonaOp`): h = h + mean(dwconv3(h), dwconv5(h), dwconv7(h)) (depth-wise, same padding), then
  h = h + conv1x1(h), all on the patch grid of the 64-channel projection.
- Class / register tokens (not in Swin): convolved as 1x1 images, so only each kernel's centre tap touches them
  (`methods/layers/token_grid.py`, as Convpass's official code treats the class token). The computation is
  reorganised but equal: they go through `MultiKernelConv.pointwise` (each kernel's centre tap and bias) instead of
  the conv stack on a padded 1x1 image. The grid is the model's
  patch grid (`patch_embed.grid_size`), or the square grid of the patch tokens when the input size differs.
- Init: `Mona` itself sets none, but the official training script calls `model.init_weights()`
  (`Swin-Transformer-Classification/tools/train.py` L176), which reaches the backbone's `init_weights`
  (`swin_transformer_mona.py` L665-L687): `self.apply(_init_weights)` gives every nn.Linear, Mona's `project1`
  and `project2` included, a timm trunc-normal std 0.02 weight and a zero bias, and every LayerNorm weight 1 /
  bias 0; the pretrained checkpoint, loaded afterwards, has no Mona weights. The convolutions keep PyTorch's
  defaults. Default `init="official-reinit"` does exactly this (the paper gives no init); `init="torch"` keeps
  PyTorch's nn.Linear defaults (up projection std ~0.072 and random biases on ViT-B). Either way Mona does not
  start as the backbone (up projection non-zero, gamma 1e-6).
- The official bottleneck width 64 is hard-coded (`Mona(dim, 8)`'s factor argument is unused); default `dim=64`.
- Count: no VTAB-1k count is published for Mona (V-PETL Bench has no Mona row). On ViT-B/16 each Mona has
  4*768 (LayerNorm weight and bias, gamma, gammax) + 768*64+64 + 64*(9+25+49)+3*64 + 64*64+64 + 64*768+768
  = 111,872 parameters; 24 Monas: 2,684,928 (2.68M).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator
from torch import nn

from . import _vit
from ._blocks import insert_per_block_sized
from ._families import family_of
from .base import Method, MethodConfig
from .layers.adapter import Bottleneck
from .layers.token_grid import conv_centre, conv_tokens, model_grid
from .registry import register


class MonaConfig(MethodConfig):
    dim: int = Field(64, ge=1)  # official Mona: nn.Linear(in_dim, 64) (commit 5deeac9)
    kernels: tuple[int, ...] = (3, 5, 7)  # official MonaOp conv1/conv2/conv3 kernel sizes
    dropout: float = Field(0.1, ge=0, lt=1)  # official nn.Dropout(p=0.1)
    gamma_init: float = 1e-6  # official gamma = ones * 1e-6 (gammax = ones)
    init: Literal["official-reinit", "torch"] = "official-reinit"  # official: Linear N(0, .02^2), zero biases

    @field_validator("kernels")
    @classmethod
    def _odd_kernels(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(k < 1 or k % 2 == 0 for k in v):
            raise ValueError(f"kernels must be odd sizes >= 1, got {v}")
        return v


class MultiKernelConv(nn.Module):
    """Mona's conv stack on (B, C, H, W): h + mean of depth-wise convs, then + a 1x1 projection."""

    def __init__(self, channels: int, kernels: tuple[int, ...]) -> None:
        super().__init__()
        self.dwconvs = nn.ModuleList(nn.Conv2d(channels, channels, k, padding=k // 2, groups=channels) for k in kernels)
        self.projector = nn.Conv2d(channels, channels, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + sum(conv(h) for conv in self.dwconvs) / len(self.dwconvs)
        return h + self.projector(h)

    def pointwise(self, h: torch.Tensor) -> torch.Tensor:
        """`forward` on a 1x1 image, for (..., C) tokens: each kernel's centre tap (no conv on a padded pixel)."""
        h = h + sum(conv_centre(conv, h) for conv in self.dwconvs) / len(self.dwconvs)
        return h + conv_centre(self.projector, h)


class TokenGridConv(nn.Module):
    """Runs an image-to-image module on ViT tokens (B, N, C): patch tokens as a grid, prefix tokens as 1x1."""

    def __init__(self, conv: nn.Module, n_prefix: int, grid: tuple[int, int] | None) -> None:
        super().__init__()
        self.conv, self.n_prefix, self.grid = conv, n_prefix, grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv_tokens(x, self.n_prefix, self.grid, self.conv, self.conv.pointwise)


class FeatureMapConv(nn.Module):
    """Runs an image-to-image module on a Swin block's (B, H, W, C) feature map (channels last)."""

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class MonaLayer(nn.Module):
    """x + bottleneck(norm(x) * gamma + x * gammax) with the multi-kernel convs inside the bottleneck.

    `grid=None` with `n_prefix=-1` marks a Swin block: its input is already the (B, H, W, C) feature map."""

    def __init__(self, dim: int, cfg: MonaConfig, n_prefix: int, grid: tuple[int, int] | None) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.gamma = nn.Parameter(torch.full((dim,), cfg.gamma_init))
        self.gammax = nn.Parameter(torch.ones(dim))
        convs = MultiKernelConv(cfg.dim, cfg.kernels)
        mid = FeatureMapConv(convs) if n_prefix < 0 else TokenGridConv(convs, n_prefix, grid)
        self.bottleneck = Bottleneck(dim, cfg.dim, act="gelu", init=cfg.init, dropout=cfg.dropout, mid=mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bottleneck(self.norm(x) * self.gamma + x * self.gammax)


def _mona_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    x = block.mona_attn(x + _vit.attn_branch(block, x, attn_mask, is_causal))
    return block.mona_mlp(x + _vit.mlp_branch(block, x))


@register("mona", config=MonaConfig, mergeable=False, identity_at_init=False, paper="2408.08345",
          families=("vit", "swin"))
class Mona(Method):
    cfg: MonaConfig

    def apply(self, model: nn.Module) -> None:
        swin = family_of(model) == "swin"
        n_prefix, grid = (-1, None) if swin else (_vit.num_prefix_tokens(model), model_grid(model))

        def make(dim: int) -> dict[str, nn.Module]:
            return {name: MonaLayer(dim, self.cfg, n_prefix, grid) for name in ("mona_attn", "mona_mlp")}

        insert_per_block_sized(model, self.spec.id, make, _mona_block_forward)
