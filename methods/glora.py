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
- Computation reorganised but equal (the official `SuperScalableLinear.forward` forms W' and b' densely on every
  call): in training W' is not kept for backward but rebuilt there from the parameters (`_RebuiltLinear`; kept:
  the input, as full fine-tuning keeps); with A "vector" / "constant" / "none" there is no dense W' at all,
  x W'^T = (x W^T)(1 + A) + x B^T with B low-rank or constant along the inputs. With A "lora" the gradient of
  W * (down up) needs the full product g^T x, as full fine-tuning's weight gradient does, so the default's train
  step cannot be much cheaper than full fine-tuning's. In eval mode without autograd, W' and b' are computed once and
  cached until a parameter changes (storage or in-place version) or `train()` is called.
- Count on ViT-B/16 with the defaults: per layer r*(out+in) for A and for B, r*in + r for C, out for E; summed
  over qkv, proj, fc1, fc2 of 12 blocks: 1,520,832 (1.52M); with `d="vector"` 1,603,776.
"""

from __future__ import annotations

from typing import Any, Literal

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


class _RebuiltLinear(torch.autograd.Function):
    """x W'^T with W' = layer.dense_weight(): W' is rebuilt from the parameters in backward instead of being kept.

    Autograd would keep the dense W' (and W * A's dense factor) of every layer for backward; this keeps only the
    input, as full fine-tuning's linear layers do. W' is needed in backward for the input's gradient and its own
    gradient g^T x flows into the parameters through a second, cheap (out x in, no token dimension) graph.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, layer: GLoRALinear, *params: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            w = layer.dense_weight()
        ctx.layer = layer
        ctx.save_for_backward(x, *params)
        return nn.functional.linear(x, w.to(x.dtype))

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, *params = ctx.saved_tensors
        with torch.enable_grad():
            w = ctx.layer.dense_weight()
        grad_x = (g @ w.to(g.dtype)).to(x.dtype) if ctx.needs_input_grad[0] else None
        wanted = [p for p, need in zip(params, ctx.needs_input_grad[2:], strict=True) if need]
        grads = iter(())
        if wanted:
            grad_w = g.flatten(0, -2).T @ x.flatten(0, -2).to(g.dtype)  # (out, in): what full fine-tuning computes
            grads = iter(torch.autograd.grad(w, wanted, grad_w.to(w.dtype)))
        return (grad_x, None, *(next(grads) if need else None for need in ctx.needs_input_grad[2:]))


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
        self._cache: tuple[tuple[int, ...], torch.Tensor, torch.Tensor | None] | None = None

    def dense_weight(self) -> torch.Tensor:
        """W' = W + W * A + B."""
        w, a, bb = self.base_layer.weight, self.glora_a.value(), self.glora_b.value()
        new_w = w if a is None else w + w * a
        return new_w if bb is None else new_w + bb

    def bias(self) -> torch.Tensor | None:
        """b' = b + b * D + E + W C (absent terms skipped)."""
        w, b = self.base_layer.weight, self.base_layer.bias
        c, d, e = self.glora_c.value(), self.glora_d.value(), self.glora_e.value()
        terms = [] if b is None else [b] + ([] if d is None else [b * d[:, 0]])
        if e is not None:
            terms.append(e[:, 0].expand(w.shape[0]))
        if c is not None:
            terms.append((w @ c)[:, 0])
        return sum(terms[1:], terms[0]) if terms else None

    def weight_and_bias(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """W' = W + W * A + B and b' = b + b * D + E + W C (absent terms skipped)."""
        return self.dense_weight(), self.bias()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():
            w, b = self._inference_weights()
            return nn.functional.linear(x, w.to(x.dtype), None if b is None else b.to(x.dtype))
        out = self._train_linear(x)
        b = self.bias()
        return out if b is None else out + b.to(out.dtype)

    def _train_linear(self, x: torch.Tensor) -> torch.Tensor:
        """x W'^T without keeping a dense W' for backward (equal to `linear(x, dense_weight())`).

        A "lora": the gradient of W * (down up) needs g^T x, the full weight-gradient product, so W' is formed (but
        rebuilt in backward, not kept). Otherwise A is per row, so x (W + W * A)^T = (x W^T) * (1 + A^T), and B is
        low-rank (x up^T down^T) or constant along the inputs (sum(x) B^T): no dense weight and no g^T x.
        """
        if self.glora_a.choice == "lora":
            params = [self.base_layer.weight, *self.glora_a.parameters(), *self.glora_b.parameters()]
            return _RebuiltLinear.apply(x, self, *params)
        out = nn.functional.linear(x, self.base_layer.weight.to(x.dtype))
        a = self.glora_a.value()
        if a is not None:
            out = out * (1 + a[:, 0].to(out.dtype))
        support = self.glora_b
        if support.choice == "lora":
            low = nn.functional.linear(x, support.glora_up.to(x.dtype))
            out = out + nn.functional.linear(low, support.glora_down.to(x.dtype))
        elif support.choice != "none":
            out = out + x.sum(-1, keepdim=True) * support.value()[:, 0].to(out.dtype)
        return out

    def _inference_weights(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(W', b') without autograd; in eval mode cached until a parameter changes (version or storage) or train()."""
        if self.training or torch.compiler.is_compiling():
            return self.weight_and_bias()
        key = tuple(v for p in self.parameters() for v in (p.data_ptr(), p._version))
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, *self.weight_and_bias())
        return self._cache[1], self._cache[2]

    def train(self, mode: bool = True) -> GLoRALinear:
        self._cache = None
        return super().train(mode)

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
        self._cache = None
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
