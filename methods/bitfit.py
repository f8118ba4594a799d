"""BitFit: train only the bias terms (Ben Zaken et al., 2021, arXiv:2106.10199).

Sources and choices:
- Paper Sec. 2: all bias terms of the network are trained, the other weights frozen.
- V-PETL Bench (synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit c188fad,
  `ImageClassification/train/train_model_bitfit.py`): trains every parameter whose name contains "bias" -
  linear and LayerNorm biases and the patch-embedding bias. We do the same by module: every `bias` parameter of
  the backbone. ViT-B/16: 12 * (2304 + 768 + 3072 + 768 + 2*768) + 768 + 768 = 102,912 = 0.10M (published 0.10M).
- A bias-less layer (e.g. `qkv_bias=False`) simply has nothing to train.
- Other families (layer-agnostic: "every bias term"): Swin (linear and LayerNorm biases; its
  `relative_position_bias_table` is a learned position table, not a layer's bias, and stays frozen), ConvNeXt
  (conv, LayerNorm and linear biases), ResNet (its convs have no bias: the BatchNorm biases), Eva (linear and norm
  biases plus the attention's separate `q_bias`/`v_bias`, the qkv projection's bias split in parts).
"""

from __future__ import annotations

from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .registry import register


class BitFitConfig(MethodConfig):
    """No options: every bias is trained."""


def _is_bias(name: str) -> bool:
    last = name.rpartition(".")[2]
    return last == "bias" or last.endswith("_bias")  # Eva's q_bias / v_bias


@register("bitfit", config=BitFitConfig, mergeable=True, identity_at_init=True, paper="2106.10199",
          families=("vit", "eva", "swin", "convnext", "resnet"))
class BitFit(Method):
    def apply(self, model: nn.Module) -> None:
        head = _vit.head_parameters(model)
        for name, p in model.named_parameters():
            if _is_bias(name) and id(p) not in head:
                p.requires_grad_(True)

    def merge(self, model: nn.Module) -> None:
        """Nothing to fold: the biases are the backbone's own parameters."""

    def owns(self, name: str) -> bool:
        return _is_bias(name)
