"""`Bottleneck`: the down-project / non-linearity / up-project adapter used by Houlsby adapters and AdaptFormer.

    y = scale * up(dropout(act(down(x))))      (the caller adds the residual where its method says so)
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

Init = Literal["zero_up", "houlsby"]
Act = Literal["gelu", "relu"]


class Bottleneck(nn.Module):
    """A bottleneck MLP with a fixed or learnable output scale.

    init "zero_up": down as nn.Linear (kaiming-uniform a=sqrt(5)), up and biases zero; the branch outputs exactly
    0 at init (AdaptFormer's official `init_option="lora"`). init "houlsby": all weights from a zero-mean normal
    with std 1e-2 truncated at 2 std, biases zero (Houlsby et al. 2019, Sec. 3.6: near-identity).
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
    ) -> None:
        super().__init__()
        self.down = nn.Linear(dim, hidden)
        self.act = nn.GELU() if act == "gelu" else nn.ReLU()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.up = nn.Linear(hidden, dim)
        if learnable_scale:
            self.scale = nn.Parameter(torch.full((1,), float(scale)))
        else:
            self.register_buffer("scale", torch.tensor(float(scale)), persistent=False)
        self._init(init)

    def _init(self, init: Init) -> None:
        with torch.no_grad():
            if init == "zero_up":
                nn.init.kaiming_uniform_(self.down.weight, a=math.sqrt(5))
                nn.init.zeros_(self.up.weight)
            else:
                for w in (self.down.weight, self.up.weight):
                    nn.init.trunc_normal_(w, std=1e-2, a=-2e-2, b=2e-2)
            nn.init.zeros_(self.down.bias)
            nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.dropout(self.act(self.down(x)))) * self.scale
