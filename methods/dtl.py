"""DTL: disentangled transfer learning with a compact side network (Fu et al., AAAI 2024, arXiv:2312.07856).

Sources and choices:
- Official code: github.com/heekhero/DTL, commit bf6c51e, `models/vision_transformer.py` (`LoRALinear`, `swish`,
  `VisionTransformer.forward`) and `train_scripts/vit/vtab/*/train_dtl.sh` (every VTAB-1k task: r=2, beta=100,
  lora_before_blocks 0-11, add_after_blocks 6-11, fusion_size 0).
- Side network: a running sum h_i = sum_{j<=i} B_j A_j x_j of low-rank projections of each block's input x_j
  (A: r x C kaiming-uniform, B: C x r zero, no biases). After each block i >= 6 the backbone output gets
  swish_beta(h_i) = h_i * sigmoid(beta * h_i) added. B = 0 makes h = 0, so the model starts as the backbone.
  `add_from=None` means depth // 2 (block 6 of 12), so shallower ViTs keep the official split.
- The official ViT also changes the pooling (mean of the patch tokens, then the final norm); that is the backbone's
  head, not DTL, and we keep timm's own pooling. DTL+ (`fusion_size` 3, a depth-wise conv over the patch grid of
  the side features) is not implemented.
- We carry h through the blocks' forwards (it is reset by block 0), so both timm paths (`self.blocks(x)` and the
  per-block loop used with an attention mask) see it. Gradient checkpointing of the blocks would re-run block
  forwards out of order and is not supported.
- Count on ViT-B/16: 12 * (2*768 + 768*2) = 36,864 = 0.04M (published 0.04M).
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

from methods import _vit
from methods.base import Method, MethodConfig
from methods.registry import register


class DTLConfig(MethodConfig):
    r: int = Field(2, ge=1)  # official train_dtl.sh --r 2 (all VTAB-1k tasks)
    beta: float = 100.0  # official --beta 100.0
    add_from: int | None = Field(None, ge=0)  # official add_after_blocks 6-11 of 12; None: depth // 2


class SideState:
    """The side network's running sum during one forward pass (plain Python, shared by the blocks)."""

    def __init__(self) -> None:
        self.h: torch.Tensor | None = None


class LowRankMap(nn.Module):
    """x -> B A x without biases (the official `LoRALinear` of DTL, no frozen base layer)."""

    def __init__(self, dim: int, r: int) -> None:
        super().__init__()
        self.dtl_A = nn.Parameter(torch.empty(r, dim))
        self.dtl_B = nn.Parameter(torch.zeros(dim, r))
        nn.init.kaiming_uniform_(self.dtl_A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(nn.functional.linear(x, self.dtl_A), self.dtl_B)


def _dtl_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    state: SideState = block._dtl_state
    step = block.dtl_side(x)
    state.h = step if block._dtl_index == 0 or state.h is None else state.h + step
    out = type(block).forward(block, x, attn_mask=attn_mask, is_causal=is_causal)
    if block._dtl_add:
        h = state.h
        out = out + (h * torch.sigmoid(block._dtl_beta * h)).to(out.dtype)
    if block._dtl_last:
        state.h = None  # do not keep the graph alive between forwards
    return out


@register("dtl", config=DTLConfig, mergeable=False, identity_at_init=True, paper="2312.07856")
class DTL(Method):
    cfg: DTLConfig

    def check_model(self, model: nn.Module) -> None:
        super().check_model(model)
        blocks = _vit.require_standard_blocks(model, self.spec.id)
        if self.cfg.add_from is not None and self.cfg.add_from >= len(blocks):
            raise ValueError(f"dtl: add_from={self.cfg.add_from} but the model has {len(blocks)} blocks")

    def apply(self, model: nn.Module) -> None:
        blocks = _vit.require_standard_blocks(model, self.spec.id)
        add_from = self.cfg.add_from if self.cfg.add_from is not None else len(blocks) // 2
        state, dim = SideState(), _vit.embed_dim(model)
        for i, block in enumerate(blocks):
            ref = block.norm1.weight
            block.dtl_side = LowRankMap(dim, self.cfg.r).to(ref.device, ref.dtype)
            block._dtl_state, block._dtl_index, block._dtl_beta = state, i, self.cfg.beta
            block._dtl_add, block._dtl_last = i >= add_from, i == len(blocks) - 1
            _vit.set_forward(block, _dtl_block_forward)
