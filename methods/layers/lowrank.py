"""`LoRALinear`: a frozen `nn.Linear` plus low-rank deltas on chosen blocks of its output rows.

    y = base(x) + scaling * [B_j (A_j dropout(x))]  placed at output rows slices[j]

One slice covering all rows is plain LoRA on the layer (what `peft` does for a fused qkv layer); two slices
(rows of q and of v in a fused qkv) is LoRA on W_q and W_v as in the LoRA paper.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import torch
from timm.layers import trunc_normal_
from torch import nn

LoRAInit = Literal["paper", "official-reinit"]


class LoRALinear(nn.Module):
    """Wraps `base_layer`; `merge()` returns the base layer with the delta folded into its weight."""

    def __init__(
        self,
        base_layer: nn.Linear,
        r: int,
        alpha: float,
        dropout: float = 0.0,
        slices: list[tuple[int, int]] | None = None,
        init: LoRAInit = "paper",
    ) -> None:
        super().__init__()
        out_f, in_f = base_layer.out_features, base_layer.in_features
        slices = slices or [(0, out_f)]
        sizes = {stop - start for start, stop in slices}
        ordered = sorted(slices)
        # overlapping slices would add two deltas to the same rows and make forward's pieces wider than the output
        overlap = any(prev[1] > nxt[0] for prev, nxt in itertools.pairwise(ordered))
        if len(sizes) != 1 or overlap or any(not 0 <= a < b <= out_f for a, b in slices):
            raise ValueError(f"slices must be equal-sized, non-overlapping ranges inside [0, {out_f}); got {slices}")
        self.base_layer = base_layer
        self.slices = [tuple(s) for s in ordered]
        self.r, self.scaling = r, alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        dev, dt = base_layer.weight.device, base_layer.weight.dtype
        self.lora_A = nn.Parameter(torch.empty(len(slices), r, in_f, device=dev, dtype=dt))
        self.lora_B = nn.Parameter(torch.zeros(len(slices), sizes.pop(), r, device=dev, dtype=dt))
        with torch.no_grad():
            if init == "paper":  # loralib / peft: kaiming-uniform A (a=sqrt(5), as nn.Linear), zero B
                for a in self.lora_A:
                    nn.init.kaiming_uniform_(a, a=math.sqrt(5))
            else:  # NOAH / V-PETL Bench in effect: their model-level timm init re-draws every Linear, A and B
                trunc_normal_(self.lora_A, std=0.02)
                trunc_normal_(self.lora_B, std=0.02)

    def delta_weight(self) -> torch.Tensor:
        """The (out, in) weight update scaling * B A, zero outside the slices."""
        w = self.base_layer.weight
        delta = torch.zeros(w.shape, device=w.device, dtype=self.lora_B.dtype)
        for j, (start, stop) in enumerate(self.slices):
            delta[start:stop] = self.lora_B[j] @ self.lora_A[j]
        return delta * self.scaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base_layer(x)
        h = self.dropout(x)
        parts: list[torch.Tensor] = []
        pos = 0
        for j, (start, stop) in enumerate(self.slices):
            if start > pos:  # rows without a delta
                parts.append(out.new_zeros(*out.shape[:-1], start - pos))
            low = nn.functional.linear(h, self.lora_A[j])
            parts.append(nn.functional.linear(low, self.lora_B[j]) * self.scaling)
            pos = stop
        if pos < out.shape[-1]:
            parts.append(out.new_zeros(*out.shape[:-1], out.shape[-1] - pos))
        delta = parts[0] if len(parts) == 1 else torch.cat([p.to(out.dtype) for p in parts], dim=-1)
        return out + delta.to(out.dtype)

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """The base layer with the delta added to its weight (in place); use it to replace this wrapper."""
        self.base_layer.weight += self.delta_weight().to(self.base_layer.weight.dtype)
        return self.base_layer

    def extra_repr(self) -> str:
        return f"r={self.r}, scaling={self.scaling:g}, slices={self.slices}"
