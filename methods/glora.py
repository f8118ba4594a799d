"""GLoRA: generalised LoRA, a weight and bias re-parameterisation of every linear layer (Chavan et al., "One-for-All:
Generalized LoRA for Parameter-Efficient Fine-tuning", arXiv:2306.07967).

Sources and choices:
- Official code: github.com/Arnav0400/ViT-Slim, commit 0fed674, `GLoRA/layer.py` (`SuperScalableLinear`),
  `GLoRA/utils.py` (`set_glora`: every nn.Linear except the head), `GLoRA/supernet.py` (`--rank` default 4) and
  `GLoRA/evolution_utils.py` (parameter counting of a chosen path).
- Each linear layer computes x W'^T + b' with W' = W + W * A + B and b' = b + b * D + E + W C, where
  A and B (out x in) are each a rank-r product ("lora"), a per-output-row vector ("vector", broadcast over the
  inputs), one scalar ("constant") or absent ("none"); C (in x 1) is "lora", "vector" or "none"; D and E (out) are
  "vector", "constant" or "none".
- The paper trains a supernet over all these choices per layer and then picks each layer's choice by evolutionary
  search under a parameter budget, so the published models have per-task, per-layer paths and no single default
  exists (V-PETL Bench has no GLoRA row). Here one choice is applied to every layer; the default is the
  supernet's largest path (A, B, C "lora", E "vector", rank 4) without D: D only rescales the backbone's biases,
  which are zero in a freshly initialised timm ViT, so it cannot learn there; set `d="vector"` (or "constant")
  on pretrained weights. Supernet training and the search are not implemented.
- Init as official: the "down" factor of each rank-r product (out x r, or in x r for C), the vectors and scalars
  start at zero and the "up" factors xavier-uniform, so the model starts exactly as the backbone. In the official
  supernet a vector or scalar path reuses slices of the LoRA factor; a chosen path here owns its own tensor.
- Mergeable: W' and b' are computed once into the layer (the official re-parameterisation).
- Count on ViT-B/16 with the defaults: per layer r*(out+in) for A and for B, r*in + r for C, out for E; summed
  over qkv, proj, fc1, fc2 of 12 blocks: 1,520,832 (1.52M); with `d="vector"` 1,603,776.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from ._blocks import target_linears, unwrap_merged, wrap_linears
from .base import Method, MethodConfig
from .registry import register

TARGETS = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")
Weighty = Literal["lora", "vector", "constant", "none"]


class GLoRAConfig(MethodConfig):
    rank: int = Field(4, ge=1)  # official supernet.py --rank default 4 (commit 0fed674)
    a: Weighty = "lora"  # official choices for A and B: LoRA_r, vector, constant, none
    b: Weighty = "lora"
    c: Literal["lora", "vector", "none"] = "lora"  # official choices for C
    d: Literal["vector", "constant", "none"] = "none"  # official choices for D and E (D off: see docstring)
    e: Literal["vector", "constant", "none"] = "vector"


class Support(nn.Module):
    """One GLoRA support tensor of shape (rows, cols) under a path choice; `value()` is None for "none"."""

    def __init__(self, rows: int, cols: int, choice: str, rank: int) -> None:
        super().__init__()
        self.choice, self.shape = choice, (rows, cols)
        if choice == "lora":
            self.glora_down = nn.Parameter(torch.zeros(rows, rank))
            self.glora_up = nn.Parameter(torch.empty(rank, cols))
            nn.init.xavier_uniform_(self.glora_up)
        elif choice == "vector":
            self.glora_vec = nn.Parameter(torch.zeros(rows, 1))
        elif choice == "constant":
            self.glora_const = nn.Parameter(torch.zeros(1, 1))

    def value(self) -> torch.Tensor | None:
        """A tensor broadcastable to (rows, cols)."""
        if self.choice == "lora":
            return self.glora_down @ self.glora_up
        if self.choice == "vector":
            return self.glora_vec
        if self.choice == "constant":
            return self.glora_const
        return None


class GLoRALinear(nn.Module):
    """Wraps a frozen nn.Linear; `merge()` returns it with W' and b' written in."""

    def __init__(self, base_layer: nn.Linear, cfg: GLoRAConfig) -> None:
        super().__init__()
        self.base_layer = base_layer
        n_out, n_in, r = base_layer.out_features, base_layer.in_features, cfg.rank
        w = base_layer.weight
        self.glora_a = Support(n_out, n_in, cfg.a, r).to(w.device, w.dtype)
        self.glora_b = Support(n_out, n_in, cfg.b, r).to(w.device, w.dtype)
        self.glora_c = Support(n_in, 1, cfg.c, r).to(w.device, w.dtype)
        self.glora_d = Support(n_out, 1, cfg.d, r).to(w.device, w.dtype)
        self.glora_e = Support(n_out, 1, cfg.e, r).to(w.device, w.dtype)

    def weight_and_bias(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """W' = W + W * A + B and b' = b + b * D + E + W C (absent terms skipped)."""
        w, b = self.base_layer.weight, self.base_layer.bias
        a, bb, c = self.glora_a.value(), self.glora_b.value(), self.glora_c.value()
        d, e = self.glora_d.value(), self.glora_e.value()
        new_w = w if a is None else w + w * a
        if bb is not None:
            new_w = new_w + bb
        terms = [] if b is None else [b] + ([] if d is None else [b * d[:, 0]])
        if e is not None:
            terms.append(e[:, 0].expand(w.shape[0]))
        if c is not None:
            terms.append((w @ c)[:, 0])
        return new_w, (sum(terms[1:], terms[0]) if terms else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.weight_and_bias()
        return nn.functional.linear(x, w.to(x.dtype), None if b is None else b.to(x.dtype))

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        base = self.base_layer
        w, b = self.weight_and_bias()
        base.weight.copy_(w)
        if b is not None:
            if base.bias is None:
                base.bias = nn.Parameter(b.detach().clone(), requires_grad=False)
            else:
                base.bias.copy_(b)
        return base


@register("glora", config=GLoRAConfig, mergeable=True, identity_at_init=True, paper="2306.07967")
class GLoRA(Method):
    cfg: GLoRAConfig

    def check_model(self, model: nn.Module) -> None:
        super().check_model(model)
        target_linears(model, self.spec.id, TARGETS)

    def apply(self, model: nn.Module) -> None:
        wrap_linears(model, self.spec.id, TARGETS, lambda linear: GLoRALinear(linear, self.cfg))

    def merge(self, model: nn.Module) -> None:
        unwrap_merged(model, GLoRALinear)
