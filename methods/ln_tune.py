"""LN-tune: train only the LayerNorm affine parameters (the "LN-TUNE" baseline of Basu et al., 2023,
"Strong Baselines for Parameter Efficient Few-Shot Fine-tuning", arXiv:2304.01917; earlier as "LayerNorm tuning").

Sources and choices:
- V-PETL Bench (synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit c188fad,
  `ImageClassification/train/train_model_lntune.py`) trains every parameter whose name contains "norm". We select
  by module type instead (every `nn.LayerNorm`, timm's LayerNorm included), which on a timm ViT is the same set
  (norm1, norm2 of every block, the final norm or fc_norm) but does not depend on names.
- Other families with LayerNorms: Swin (block norms, patch-merging norms, patch-embedding and final norm), ConvNeXt
  (stem, downsample and block norms and the head's pre-classifier norm, timm's LayerNorm2d included: a subclass of
  nn.LayerNorm), Eva. ResNet has BatchNorms only and is not declared.
- No published VTAB-1k count in V-PETL Bench; on ViT-B/16: 12 * 4 * 768 + 2 * 768 = 38,400 (0.04M).
"""

from __future__ import annotations

from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .registry import register


class LNTuneConfig(MethodConfig):
    """No options: every LayerNorm weight and bias is trained."""


@register("ln-tune", config=LNTuneConfig, mergeable=True, identity_at_init=True, paper="2304.01917",
          families=("vit", "eva", "swin", "convnext"))
class LNTune(Method):
    def __init__(self, cfg: MethodConfig) -> None:
        super().__init__(cfg)
        self._names: set[str] = set()

    def apply(self, model: nn.Module) -> None:
        heads = _vit.heads(model)
        for mod_name, mod in model.named_modules():
            if isinstance(mod, nn.LayerNorm) and not any(mod is h for h in heads):
                for p_name, p in mod.named_parameters(recurse=False):
                    p.requires_grad_(True)
                    self._names.add(f"{mod_name}.{p_name}")

    def merge(self, model: nn.Module) -> None:
        """Nothing to fold: the norms are the backbone's own parameters."""

    def owns(self, name: str) -> bool:
        return name in self._names
