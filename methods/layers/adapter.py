"""`Bottleneck`: the down-project / non-linearity / up-project adapter shared by the adapter-style methods.

    y = scale * up(dropout(act(mid(down(x)))))      (the caller adds the residual where its method says so)

`mid` is an optional module between the projections (Mona's multi-kernel depth-wise convolutions); `act="identity"`
gives the purely linear low-rank branch of Hydra; `out_dim` (default `dim`) lets it map between widths.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

Init = Literal["zero_up", "xavier_zero_up", "houlsby", "torch"]
Act = Literal["gelu", "relu", "identity"]

_ACTS: dict[str, type[nn.Module]] = {"gelu": nn.GELU, "relu": nn.ReLU, "identity": nn.Identity}


class Bottleneck(nn.Module):
    """A bottleneck MLP with a fixed or learnable output scale.

    init "zero_up": down as nn.Linear (kaiming-uniform a=sqrt(5)), up and biases zero; the branch outputs exactly
    0 at init (AdaptFormer's official `init_option="lora"`). "xavier_zero_up": the same with a xavier-uniform down
    weight (Hydra, RepAdapter). "houlsby": all weights from a zero-mean normal with std 1e-2 truncated at 2 std,
    biases zero (Houlsby et al. 2019, Sec. 3.6: near-identity). "torch": PyTorch's nn.Linear defaults (Mona's
    official code sets no init of its own).
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
