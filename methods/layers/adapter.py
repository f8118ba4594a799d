"""`Bottleneck`: the down-project / non-linearity / up-project adapter shared by the adapter-style methods.

    y = scale * up(dropout(act(mid(down(x)))))      (the caller adds the residual where its method says so)

`mid` is an optional module between the projections (Mona's multi-kernel depth-wise convolutions); `act="identity"`
gives the purely linear low-rank branch of Hydra; `out_dim` (default `dim`) lets it map between widths.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from timm.layers import trunc_normal_
from torch import nn

Init = Literal["zero_up", "xavier_zero_up", "houlsby", "torch", "official-reinit"]
Act = Literal["gelu", "quick_gelu", "relu", "identity"]


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x), the CLIP-style GELU approximation NOAH's adapter uses (`adapter_super.py` L8-L10)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


_ACTS: dict[str, type[nn.Module]] = {"gelu": nn.GELU, "quick_gelu": QuickGELU, "relu": nn.ReLU, "identity": nn.Identity}


def reinit_linear_(linear: nn.Linear) -> None:
    """timm's ViT init of a Linear (`init_weights_vit_timm` / `_init_vit_weights`): weight from timm's
    `trunc_normal_(std=.02)` (truncated at +-2 absolute, so in effect an untruncated N(0, 0.02^2)) and zero bias.
    NOAH, V-PETL Bench and Mona's official code run this on every nn.Linear of the model after building it, so it is
    the effective init of their adapters and LoRA matrices ("official-reinit" below)."""
    with torch.no_grad():
        trunc_normal_(linear.weight, std=0.02)
        if linear.bias is not None:
            nn.init.zeros_(linear.bias)


class Bottleneck(nn.Module):
    """A bottleneck MLP with a fixed or learnable output scale.

    init "zero_up": down as nn.Linear (kaiming-uniform a=sqrt(5)), up and biases zero; the branch outputs exactly
    0 at init (AdaptFormer's official `init_option="lora"`). "xavier_zero_up": the same with a xavier-uniform down
    weight (Hydra, RepAdapter). "houlsby": all weights from a zero-mean normal with std 1e-2 truncated at 2 std,
    biases zero (Houlsby et al. 2019, Sec. 3.6: near-identity). "torch": PyTorch's nn.Linear defaults.
    "official-reinit": both weights timm trunc-normal std 0.02, biases zero (`reinit_linear_`): the init that
    NOAH's, V-PETL Bench's and Mona's code give their adapters in effect, whatever their adapter class writes.
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        *,
        act: Act = "gelu",
        init: Init = "zero_up",
        scale: float = 1.0,
        learnable_scale: bool = False,
        dropout: float = 0.0,
        mid: nn.Module | None = None,
        out_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.down = nn.Linear(dim, hidden)
        self.mid = mid if mid is not None else nn.Identity()
        self.act = _ACTS[act]()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.up = nn.Linear(hidden, out_dim if out_dim is not None else dim)
        if learnable_scale:
            self.scale = nn.Parameter(torch.full((1,), float(scale)))
        else:
            self.register_buffer("scale", torch.tensor(float(scale)), persistent=False)
        self._init(init)

    def _init(self, init: Init) -> None:
        if init == "torch":
            return
        if init == "official-reinit":
            reinit_linear_(self.down)
            reinit_linear_(self.up)
            return
        with torch.no_grad():
            if init == "houlsby":
                for w in (self.down.weight, self.up.weight):
                    nn.init.trunc_normal_(w, std=1e-2, a=-2e-2, b=2e-2)
            else:
                if init == "zero_up":
                    nn.init.kaiming_uniform_(self.down.weight, a=math.sqrt(5))
                else:
                    nn.init.xavier_uniform_(self.down.weight)
                nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.down.bias)
            nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.dropout(self.act(self.mid(self.down(x))))) * self.scale

    def as_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(M, c) with forward(x) = M x + c; only for a linear bottleneck (act identity, no `mid`), in eval mode."""
        if not (isinstance(self.act, nn.Identity) and isinstance(self.mid, nn.Identity)):
            raise ValueError("only a linear bottleneck (act='identity', no mid) is an affine map")
        s = self.scale.to(self.up.weight.dtype)
        m = s * (self.up.weight @ self.down.weight)
        c = s * (self.up.weight @ self.down.bias + self.up.bias)
        return m, c
