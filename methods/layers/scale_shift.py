"""`ScaleShift`: y = base(x) * scale + shift over the last (channel) dimension, foldable into `base`.

Folding (merge) is exact for `nn.Linear`, `nn.LayerNorm` with affine parameters and channel-first `nn.Conv2d`
(the timm patch embedding, whose output channels the scale/shift act on).
"""

from __future__ import annotations

import torch
from torch import nn


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
        out = self.base(x)
        shape = self._shape(out)
        return out * self.ssf_scale.view(shape).to(out.dtype) + self.ssf_shift.view(shape).to(out.dtype)

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
