"""`ScaleShift`: y = base(x) * scale + shift over the channel dimension, foldable into `base`.

Folding (merge) is exact for `nn.Linear`, `nn.LayerNorm` with affine parameters and channel-first `nn.Conv2d`
(the timm patch embedding, whose output channels the scale/shift act on).

Activation memory (issue 13): computed as written, `out * scale + shift` keeps `out` for the scale's gradient, a
full-size activation on top of what the frozen backbone keeps. Two reorganisations give the same function and
gradients without it:
- after a LayerNorm, the scale and shift are folded into the norm's affine parameters in every forward
  (`layer_norm(x, w * s, b * s + shift)`): the norm's backward already keeps its input and statistics;
- after any other module, `_ScaleShiftFn` keeps the output y instead of `out` and recovers
  out = (y - shift) / scale in backward. The output is the tensor the next op keeps anyway (the attention keeps
  q, k, v, views of the scaled qkv output; the GELU keeps the scaled fc1 output), so nothing extra is stored there.
"""

from __future__ import annotations

import torch
from torch import nn


class _ScaleShiftFn(torch.autograd.Function):
    """y = z * s + b (s, b broadcast over the channel dimension); backward from y, s, b only."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, z: torch.Tensor, s: torch.Tensor, b: torch.Tensor
    ) -> torch.Tensor:
        y = z * s + b
        ctx.save_for_backward(y, s, b)
        return y

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        y, s, b = ctx.saved_tensors
        reduce = [d for d in range(g.dim()) if s.shape[d] == 1]  # every dimension but the channel one
        grad_z = g * s if ctx.needs_input_grad[0] else None
        grad_s = grad_b = None
        if ctx.needs_input_grad[1]:
            # out = (y - b) / s; a scale of exactly zero lost `out` for its channel: its gradient is taken as 0
            z = torch.where(s != 0, (y - b) / torch.where(s != 0, s, 1), 0)
            grad_s = (g * z).sum(reduce, keepdim=True)
        if ctx.needs_input_grad[2]:
            grad_b = g.sum(reduce, keepdim=True)
        return grad_z, grad_s, grad_b


class ScaleShift(nn.Module):
    """Wraps `base`; parameters `ssf_scale` and `ssf_shift` of size `dim` (the base's output channels)."""

    def __init__(self, base: nn.Module, dim: int, init_std: float = 0.0, channel_dim: int = -1) -> None:
        super().__init__()
        self.base = base
        self.channel_dim = channel_dim
        self.ssf_scale = nn.Parameter(torch.ones(dim))
        self.ssf_shift = nn.Parameter(torch.zeros(dim))
        if init_std > 0:
            with torch.no_grad():
                self.ssf_scale.normal_(1.0, init_std)
                self.ssf_shift.normal_(0.0, init_std)

    def _shape(self, out: torch.Tensor) -> list[int]:
        shape = [1] * out.dim()
        shape[self.channel_dim] = -1
        return shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.base, nn.LayerNorm) and self.channel_dim == -1:  # channels-last (not timm's LayerNorm2d)
            return self._folded_layer_norm(x)
        out = self.base(x)
        shape = self._shape(out)
        s, b = self.ssf_scale.view(shape).to(out.dtype), self.ssf_shift.view(shape).to(out.dtype)
        if torch.is_grad_enabled():
            return _ScaleShiftFn.apply(out, s, b)
        return out * s + b

    def _folded_layer_norm(self, x: torch.Tensor) -> torch.Tensor:
        """LayerNorm(x) * scale + shift as one LayerNorm with weight w * scale and bias b * scale + shift."""
        norm, s, b = self.base, self.ssf_scale, self.ssf_shift
        weight = s if norm.weight is None else norm.weight * s
        bias = b if norm.bias is None else norm.bias * s + b
        return nn.functional.layer_norm(x, norm.normalized_shape, weight, bias, norm.eps)

    @torch.no_grad()
    def merge(self) -> nn.Module:
        """Fold scale and shift into the base's weight and bias (in place) and return the base."""
        base, s, b = self.base, self.ssf_scale, self.ssf_shift
        if isinstance(base, nn.LayerNorm) and not base.elementwise_affine:
            raise ValueError("cannot fold SSF into a LayerNorm without affine parameters")
        if not isinstance(base, (nn.Linear, nn.LayerNorm, nn.Conv2d)):
            raise ValueError(f"cannot fold SSF into {type(base).__name__}")
        w = base.weight
        w.mul_(s.view(-1, *([1] * (w.dim() - 1))).to(w.dtype))
        if base.bias is None:
            base.bias = nn.Parameter(b.clone().to(w.dtype), requires_grad=w.requires_grad)
        else:
            base.bias.mul_(s.to(w.dtype)).add_(b.to(w.dtype))
        return base
