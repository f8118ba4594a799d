"""BitFit: train only the bias terms (Ben Zaken et al., 2021, arXiv:2106.10199).

Sources and choices:
- Paper Sec. 2: all bias terms of the network are trained, the other weights frozen.
- V-PETL Bench (synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit c188fad,
  `ImageClassification/train/train_model_bitfit.py`): trains every parameter whose name contains "bias" -
  linear and LayerNorm biases and the patch-embedding bias. We do the same by module: every `bias` parameter of
  the backbone. ViT-B/16: 12 * (2304 + 768 + 3072 + 768 + 2*768) + 768 + 768 = 102,912 = 0.10M (published 0.10M).
- A bias-less layer (e.g. `qkv_bias=False`) simply has nothing to train.
"""

from __future__ import annotations

from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .registry import register


class BitFitConfig(MethodConfig):
    """No options: every bias is trained."""


@register("bitfit", config=BitFitConfig, mergeable=True, identity_at_init=True, paper="2106.10199")
class BitFit(Method):
    def apply(self, model: nn.Module) -> None:
        head = _vit.head_parameters(model)
        for name, p in model.named_parameters():
            if name.rpartition(".")[2] == "bias" and id(p) not in head:
                p.requires_grad_(True)

    def merge(self, model: nn.Module) -> None:
        """Nothing to fold: the biases are the backbone's own parameters."""

    def owns(self, name: str) -> bool:
        return name.rpartition(".")[2] == "bias"
