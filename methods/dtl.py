"""DTL: Disentangled Transfer Learning (Fu et al., AAAI 2024, arXiv:2312.07856), and DTL+ with `fusion_size > 0`.

A compact side network: before every chosen block i a low-rank map B_i A_i of the block's input is added to a running
sum; after each block of the later half, swish(sum) is added to the backbone's token stream. The backbone's own
blocks are untouched, and the side sum depends only on block inputs, so the early blocks' features are shared with
the frozen model.

Sources and choices:
- Official code: github.com/heekhero/DTL, commit bf6c51e, `models/vision_transformer.py` (`LoRALinear`, `swish`,
  `VisionTransformer.forward`) and `train_scripts/vit/vtab/*/train_dtl.sh`: every one of the 19 VTAB-1k scripts
  uses r=2, beta=100, `lora_before_blocks 0-11`, `add_after_blocks 6-11`, `fusion_size 0` (DTL).
- DTL+ (`fusion_size` k > 0; official `train_dtl+.sh`: k=3 on 6 tasks, 4 on 4, 5 on 9): one depthwise k x k conv
  (no bias, 'same' padding, PyTorch's default init), shared by all additions, runs over swish(sum) of the patch
  tokens laid out on the patch grid; the class token's value passes unchanged (official `lora_fusion`). Register
  tokens are treated like the class token. Adds C x k x k parameters.
- Low-rank maps: A (r x C) kaiming-uniform a=sqrt(5), B (C x r) zero (official `LoRALinear`), so the sum is zero at
  init and, since swish(0) = 0, the model starts exactly as the backbone.
- swish(x) = x * sigmoid(beta * x) with beta = 100.
- Depth: "0-11" and "6-11" are ViT-B's 12 blocks; for other depths the defaults are every block for the low-rank
  maps and the second half (blocks depth//2 ... depth-1) for the additions, which gives 0-11 / 6-11 at depth 12.
  `low_rank_blocks` / `add_after_blocks` select others.
- Pooling: the official ViT (`models/vision_transformer.py` L446-L449) classifies
  `head(norm(x[:, num_tokens:].mean(dim=1)))`: the mean of the patch tokens (class token left out), then the
  pretrained final norm. Default `pool="official"` does the same: `forward_features` returns the tokens before
  the final norm and an instance-level `forward_head` averages the tokens after the prefix (class / register)
  tokens, applies `model.norm`, then timm's `fc_norm` (Identity on class-token ViTs) and the head. The features
  the head sees differ from the backbone's class token, so the model is not the backbone at init.
  `pool="backbone"` keeps the backbone's own head path (timm's `global_pool` on the normed tokens).
- Implemented as instance-level `forward_features` (and `forward_head`) on the model. Not mergeable (swish of the
  running sum).

PARAM_NOTES (ViT-B/16, C=768, 12 blocks; head excluded): 12 x (2*768 + 768*2) = 36,864 = 0.04M, equal to
V-PETL Bench's VTAB-1k 0.04M. DTL+ adds 768 x k x k (k=5: 19,200).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from . import _features, _vit
from .base import Method, MethodConfig
from .layers.token_grid import grid_size, model_grid
from .registry import register


class DTLConfig(MethodConfig):
    r: int = Field(2, ge=1)  # heekhero/DTL bf6c51e, train_scripts/vit/vtab/*/train_dtl.sh: --r 2
    beta: float = 100.0  # same scripts: --beta 100.0
    low_rank_blocks: tuple[int, ...] | None = None  # None: every block (scripts: 0-11)
    add_after_blocks: tuple[int, ...] | None = None  # None: second half (scripts: 6-11 of 12)
    fusion_size: int = Field(0, ge=0)  # 0: DTL (train_dtl.sh); DTL+ uses 3, 4 or 5 per task (train_dtl+.sh)
    pool: Literal["official", "backbone"] = "official"  # official: norm(mean of patch tokens); backbone: timm's


class DTLSide(nn.Module):
    """Low-rank maps (dtl.A, dtl.B) per chosen block, and the swish (plus DTL+ fusion conv) adding their sum."""

    def __init__(self, dim: int, cfg: DTLConfig, low_rank: list[int], add_after: list[int]) -> None:
        super().__init__()
        r, beta, k = cfg.r, cfg.beta, cfg.fusion_size
        self.beta = beta
        self.low_rank, self.add_after = low_rank, set(add_after)
        self.slot = {b: j for j, b in enumerate(low_rank)}
        self.A = nn.Parameter(torch.empty(len(low_rank), r, dim))
        self.B = nn.Parameter(torch.zeros(len(low_rank), dim, r))
        for a in self.A:
            nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        self.fusion = nn.Conv2d(dim, dim, k, padding="same", groups=dim, bias=False) if k else None
        self.num_prefix, self.grid = 0, None  # set by apply: tokens kept out of the fusion conv, patch grid
        self.official_pool = cfg.pool == "official"

    def delta(self, block_index: int, x: torch.Tensor) -> torch.Tensor:
        j = self.slot[block_index]
        return x @ self.A[j].T.to(x.dtype) @ self.B[j].T.to(x.dtype)

    def addition(self, s: torch.Tensor) -> torch.Tensor:
        """swish(s) (DTL), with the patch tokens passed through the depthwise fusion conv (DTL+)."""
        act = s * torch.sigmoid(self.beta * s)
        if self.fusion is None:
            return act
        b, n, c = act.shape
        h, w = grid_size(n - self.num_prefix, self.grid)
        patches = act[:, self.num_prefix :].transpose(1, 2).reshape(b, c, h, w)
        patches = self.fusion(patches).flatten(2).transpose(1, 2)
        return torch.cat([act[:, : self.num_prefix], patches], dim=1)


def _dtl_forward_features(
    model: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    side: DTLSide = model.dtl
    x = _features.embed_tokens(model, x)
    running: torch.Tensor | float = 0.0
    for i, block in enumerate(model.blocks):
        if i in side.slot:
            running = running + side.delta(i, x)
        x = block(x, attn_mask=attn_mask, is_causal=is_causal)
        if i in side.add_after and isinstance(running, torch.Tensor):
            x = x + side.addition(running)
    return x if side.official_pool else model.norm(x)


def _dtl_forward_head(model: nn.Module, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
    """Official DTL head: mean of the tokens after the prefix tokens, then the final norm (then fc_norm, head)."""
    x = model.fc_norm(model.norm(x[:, model.num_prefix_tokens :].mean(dim=1)))
    x = model.head_drop(x)
    return x if pre_logits else model.head(x)


def _resolve(blocks: tuple[int, ...] | None, default: range, depth: int, name: str) -> list[int]:
    chosen = sorted(set(default if blocks is None else blocks))
    if not chosen or not all(0 <= b < depth for b in chosen):
        raise ValueError(f"dtl: {name} must be non-empty block indices in [0, {depth}); got {blocks}")
    return chosen


@register("dtl", config=DTLConfig, mergeable=False, identity_at_init=True, paper="2312.07856")
class DTL(Method):
    cfg: DTLConfig

    def identity_at_init(self) -> bool:
        return self.cfg.pool == "backbone"

    def _layout(self, depth: int) -> tuple[list[int], list[int]]:
        low = _resolve(self.cfg.low_rank_blocks, range(depth), depth, "low_rank_blocks")
        add = _resolve(self.cfg.add_after_blocks, range(depth // 2, depth), depth, "add_after_blocks")
        if max(low) > max(add):  # its map would never reach the token stream (and never get a gradient)
            raise ValueError(f"dtl: low-rank blocks {low} must not come after the last addition (block {max(add)})")
        return low, add

    def check_model(self, model: nn.Module) -> None:
        self._layout(len(_vit.require_vit(model, self.spec.id).blocks))

    def apply(self, model: nn.Module) -> None:
        low, add = self._layout(len(_vit.blocks(model)))
        ref = next(model.parameters())
        side = DTLSide(_vit.embed_dim(model), self.cfg, low, add)
        side.num_prefix, side.grid = _vit.num_prefix_tokens(model), model_grid(model)
        model.dtl = side.to(ref.device, ref.dtype)
        _features.set_forward_features(model, _dtl_forward_features)
        if self.cfg.pool == "official":
            _features.set_forward_head(model, _dtl_forward_head)
