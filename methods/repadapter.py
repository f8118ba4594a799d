"""RepAdapter: re-parameterisable sequential adapters (Luo et al., 2023, arXiv:2302.08106).

Sources and choices:
- Official code: github.com/luogen1996/RepAdapter, commit 360992f, `repadapter.py` (`RepAdapter`,
  `set_RepAdapter`, `set_RepWeight`, `reparameterize`, `sparse2dense`) and `train.py` (dim=8).
- Placement ("repblock", the paper's main setting): an adapter in front of the attention (on norm1(x), feeding
  qkv) and in front of the MLP (on norm2(x), feeding fc1). Linear, so it folds into qkv / fc1 after training.
  `placement="attn"` is the official "repattn" variant. We apply it to the input of qkv and fc1, the only layers
  that read the attention / MLP input in a timm Block - the same function.
- Adapter (`repadapter.py` L147-L172): x + s * B(dropout(A x)), A a Conv1d C -> 8 (xavier weight, zero bias),
  B a Conv1d 8 -> C with 2 groups (zero weight and bias, so the model starts as the backbone), Dropout(0.1);
  placed by `forward_vit_block_adapter` (L21-L24) on norm1(x) and norm2(x). None of the official scripts
  re-initialise it after insertion (`train.py` L95-L133), so this written init is the effective one.
- Scale s is per task in `configs/repblock/*.yaml` (0.1 ... 10); default 0.1, the most common value.
- Biases: the official code has biases on A and B: 24 * (6152 + 3840) = 239,808 = 0.24M on ViT-B/16. The
  published count (paper Table 1, Hydra's table and V-PETL Bench VTAB-1k: 0.22M) is the bias-free one:
  24 * (768*8 + 768*4) = 221,184 = 0.22M. Default `bias=False` reproduces the published count; `bias=True` gives the
  official code's layers (same outputs for the same weights: `tests/methods/test_official_forward.py`). V-PETL
  Bench has no RepAdapter implementation of its own (its `vision_transformer_repadapter.py` is a copy of its
  VPT-shallow file).
- Merge: W' = W (I + s B A), b' = W s (B a + b_B) + b, B made dense from its groups (official `sparse2dense`).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .registry import register


class RepAdapterConfig(MethodConfig):
    dim: int = Field(8, ge=1)  # official train.py --dim 8
    groups: int = Field(2, ge=1)  # official RepAdapter(groups=2)
    scale: float = 0.1  # most common per-task s in configs/repblock
    dropout: float = Field(0.1, ge=0, lt=1)  # official nn.Dropout(0.1)
    bias: bool = False  # False: the published 0.22M count; True: the official code's biases (0.24M)
    placement: Literal["block", "attn"] = "block"  # official "repblock" / "repattn"


class RepAdapterLayer(nn.Module):
    """x + s * B(dropout(A x)) with a group-wise B."""

    def __init__(self, dim: int, cfg: RepAdapterConfig) -> None:
        super().__init__()
        if cfg.dim % cfg.groups or dim % cfg.groups:
            raise ValueError(f"repadapter: dim={cfg.dim} and width {dim} must be divisible by groups={cfg.groups}")
        self.groups, self.scale = cfg.groups, cfg.scale
        self.down = nn.Linear(dim, cfg.dim, bias=cfg.bias)
        # group g maps hidden units [g*dim/G, (g+1)*dim/G) to outputs [g*C/G, (g+1)*C/G), as Conv1d(groups=G)
        self.up_weight = nn.Parameter(torch.zeros(dim, cfg.dim // cfg.groups))
        self.up_bias = nn.Parameter(torch.zeros(dim)) if cfg.bias else None
        self.dropout = nn.Dropout(cfg.dropout)
        nn.init.xavier_uniform_(self.down.weight)
        if cfg.bias:
            nn.init.zeros_(self.down.bias)

    def dense_up(self) -> torch.Tensor:
        """The (C, dim) block-diagonal matrix of the group-wise up projection."""
        return torch.block_diag(*self.up_weight.chunk(self.groups, dim=0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dropout(self.down(x))
        up = self._grouped(h)
        if self.up_bias is not None:
            up = up + self.up_bias
        return x + up * self.scale

    def _grouped(self, h: torch.Tensor) -> torch.Tensor:
        """out[g] = W_g h_g: group g of the hidden units feeds group g of the outputs."""
        hs = h.unflatten(-1, (self.groups, -1))  # (..., G, dim/G)
        ws = self.up_weight.unflatten(0, (self.groups, -1))  # (G, C/G, dim/G)
        return torch.einsum("...gi,goi->...go", hs, ws).flatten(-2)

    def as_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(M, c) with adapter(x) = M x + c."""
        up = self.dense_up()
        m = torch.eye(up.shape[0], device=up.device, dtype=up.dtype) + self.scale * up @ self.down.weight
        c = torch.zeros(up.shape[0], device=up.device, dtype=up.dtype)
        if self.down.bias is not None:
            c = c + self.scale * (up @ self.down.bias)
        if self.up_bias is not None:
            c = c + self.scale * self.up_bias
        return m, c


def _adapted_linear_forward(linear: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return nn.functional.linear(linear.repadapter(x), linear.weight, linear.bias)


@register("repadapter", config=RepAdapterConfig, mergeable=True, identity_at_init=True, paper="2302.08106")
class RepAdapter(Method):
    cfg: RepAdapterConfig

    def _targets(self, model: nn.Module) -> list[nn.Linear]:
        suffixes = ["attn.qkv"] + (["mlp.fc1"] if self.cfg.placement == "block" else [])
        return [lin for s in suffixes for _, lin in _vit.block_linears(model, s, self.spec.id)]

    def apply(self, model: nn.Module) -> None:
        _vit.require_standard_blocks(model, self.spec.id)
        for linear in self._targets(model):
            adapter = RepAdapterLayer(linear.in_features, self.cfg)
            linear.repadapter = adapter.to(linear.weight.device, linear.weight.dtype)
            _vit.set_forward(linear, _adapted_linear_forward)

    def merge(self, model: nn.Module) -> None:
        for linear in self._targets(model):
            m, c = linear.repadapter.as_affine()
            w = linear.weight.float()
            if linear.bias is not None:
                linear.bias.copy_(w @ c.float() + linear.bias.float())
            elif self.cfg.bias:  # a bias-free backbone layer must gain one to hold the adapter's biases
                linear.bias = nn.Parameter((w @ c.float()).to(linear.weight.dtype), requires_grad=False)
            linear.weight.copy_(w @ m.float())
            del linear.repadapter
            _vit.restore_forward(linear)
