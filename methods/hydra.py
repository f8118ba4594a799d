"""Hydra: parallel plus sequential low-rank branches on the attention and MLP output projections (Kim et al.,
"Hydra: Multi-head Low-rank Adaptation for Parameter Efficient Fine-tuning", arXiv:2309.06922).

Sources and choices:
- Official code: github.com/extremebird/Hydra, commit 4138457, `vtab1k/hydra.py` (`Hydra_layer`, `set_hydra`,
  `forward_vit_hydra_attn`, `forward_vit_hydra_ffn`, `reparameterize`), `vtab1k/scripts/train_hydra.sh` (dim=2)
  and the per-task `vtab1k/configs/hydra_both/*.yaml` (scale, dropout).
- Placement ("hydra_both"): on attn.proj and mlp.fc2 of every block, out = W x + b + P(x) + S(W x + b), the
  parallel branch P reading the layer's input and the sequential branch S its output. Each branch is
  s * up(dropout(down(h))), linear (no activation): down xavier-uniform, up and biases zero, so the model starts
  as the backbone. We wrap the two layers (`HydraLinear`), the same function as the official forward overrides.
- Defaults: dim=2 (train_hydra.sh); scale 0.1 and dropout 0.2, the most common per-task values in the YAMLs
  (scale 0.1 in 9 of 19 tasks, dropout 0.2 in 14 of 19).
- Merge (paper Sec. 3.3, official `reparameterize`): W' = W + M_p + M_s W, b' = b + c_p + M_s b + c_s with
  (M, c) the affine map of each branch. The official `set_hydraWeight` folds the attention branches using the
  MLP's fc2 weights (a bug); we fold into each layer's own weights.
- Count on ViT-B/16 (C=768, hidden 3072, r=2, with biases): per block 3 * (768*2 + 2 + 2*768 + 768) +
  (3072*2 + 2 + 2*768 + 768) = 19,976; 12 blocks: 239,712 = 0.24M. The published 0.28M (paper Table 1, repo
  `vtab1k/README.md`, V-PETL Bench) includes the classifier head averaged over the 19 VTAB-1k tasks
  (768 * 49.47 + 49.47 = 38,043; the same tables give linear probing 0.04M), so it cannot be met excluding the
  head; our test checks 239,712 + the mean head = 0.28M.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from ._blocks import target_linears, unwrap_merged, wrap_linears
from .base import Method, MethodConfig
from .layers.adapter import Bottleneck
from .registry import register

TARGETS = ("attn.proj", "mlp.fc2")


class HydraConfig(MethodConfig):
    dim: int = Field(2, ge=1)  # official vtab1k/scripts/train_hydra.sh dim=2 (commit 4138457)
    scale: float = 0.1  # most common per-task `scale` in vtab1k/configs/hydra_both
    dropout: float = Field(0.2, ge=0, lt=1)  # most common per-task `dropout` in vtab1k/configs/hydra_both


class HydraLinear(nn.Module):
    """base(x) + P(x) + S(base(x)) with linear low-rank branches P (parallel) and S (sequential)."""

    def __init__(self, base_layer: nn.Linear, cfg: HydraConfig) -> None:
        super().__init__()
        self.base_layer = base_layer
        w, n_in, n_out = base_layer.weight, base_layer.in_features, base_layer.out_features
        self.hydra_par = self._branch(n_in, n_out, cfg).to(w.device, w.dtype)
        self.hydra_seq = self._branch(n_out, n_out, cfg).to(w.device, w.dtype)

    @staticmethod
    def _branch(n_in: int, n_out: int, cfg: HydraConfig) -> Bottleneck:
        return Bottleneck(
            n_in, cfg.dim, act="identity", init="xavier_zero_up", scale=cfg.scale, dropout=cfg.dropout, out_dim=n_out
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base_layer(x)
        return out + self.hydra_par(x) + self.hydra_seq(out)

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """The base layer with both branches folded into its weight and bias (in place)."""
        base = self.base_layer
        w = base.weight.float()
        b = base.bias.float() if base.bias is not None else torch.zeros(w.shape[0], device=w.device)
        mp, cp = (t.float() for t in self.hydra_par.as_affine())
        ms, cs = (t.float() for t in self.hydra_seq.as_affine())
        new_w = w + mp + ms @ w
        new_b = b + cp + ms @ b + cs
        base.weight.copy_(new_w.to(base.weight.dtype))
        if base.bias is None:
            base.bias = nn.Parameter(new_b.to(base.weight.dtype), requires_grad=False)
        else:
            base.bias.copy_(new_b.to(base.bias.dtype))
        return base


@register("hydra", config=HydraConfig, mergeable=True, identity_at_init=True, paper="2309.06922")
class Hydra(Method):
    cfg: HydraConfig

    def check_model(self, model: nn.Module) -> None:
        super().check_model(model)
        target_linears(model, self.spec.id, TARGETS)

    def apply(self, model: nn.Module) -> None:
        wrap_linears(model, self.spec.id, TARGETS, lambda linear: HydraLinear(linear, self.cfg))

    def merge(self, model: nn.Module) -> None:
        unwrap_merged(model, HydraLinear)
