"""DiffFit: biases, LayerNorms and per-block scale factors (Xie et al., "DiffFit: Unlocking Transferability of Large
Diffusion Models via Simple Parameter-Efficient Fine-Tuning", ICCV 2023, arXiv:2304.06648), on timm ViTs.

Sources and choices:
- The paper targets DiT (diffusion transformers). The catalog's code link is github.com/mkshing/DiffFit-pytorch
  (an unofficial diffusers port, commit 78dc2d1): `difffit_pytorch/utils.py` `mark_only_biases_as_trainable`
  trains every parameter named "bias", "norm", "gamma" (and DiT's class embedding "y_embed"), and
  `diffusers_models/attention.py` multiplies each attention and feed-forward output by a per-channel `gamma`
  initialised to ones before the residual add (`gamma_attn1`, `gamma_ff`).
- On a timm ViT: every bias and every LayerNorm weight and bias of the backbone (not the head), plus
  `difffit_gamma_attn` / `difffit_gamma_mlp` (ones, per channel) on the two branches of every block. There is no
  class embedding to train. Which blocks get scale factors in the paper's DiT setting was not verified here; the
  port (and we) put them in every block.
- Starts exactly as the backbone (gamma = 1). Mergeable: a per-channel gamma after attn.proj / mlp.fc2 (and the
  diagonal LayerScale, if any) folds into that layer's weight rows and bias; biases and norms are the backbone's own.
- No VTAB-1k count is published (V-PETL Bench has no DiffFit row). ViT-B/16: biases 102,912 + LayerNorm weights
  (2*12 + 1) * 768 = 19,200 + gammas 2*12*768 = 18,432: 140,544 (0.14M).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .registry import register


class DiffFitConfig(MethodConfig):
    """No options: biases, LayerNorms and the per-block gammas are trained (DiffFit-pytorch, commit 78dc2d1)."""


def _difffit_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    y = block.ls1(block.attn(block.norm1(x), attn_mask=attn_mask, is_causal=is_causal))
    x = x + block.drop_path1(y * block.difffit_gamma_attn)
    return x + block.drop_path2(block.ls2(block.mlp(block.norm2(x))) * block.difffit_gamma_mlp)


@register("difffit", config=DiffFitConfig, mergeable=True, identity_at_init=True, paper="2304.06648")
class DiffFit(Method):
    def __init__(self, cfg: MethodConfig) -> None:
        super().__init__(cfg)
        self._own: set[str] = set()

    def check_model(self, model: nn.Module) -> None:
        super().check_model(model)
        for suffix in ("attn.proj", "mlp.fc2"):
            for name, lin in _vit.block_linears(model, suffix, self.spec.id):
                if lin.bias is None:
                    raise _vit.UnsupportedModelError(f"difffit needs a bias on {name} to fold the scale into")

    def apply(self, model: nn.Module) -> None:
        head = _vit.head_parameters(model)
        for mod_name, mod in model.named_modules():
            for p_name, p in mod.named_parameters(recurse=False):
                if id(p) not in head and (p_name == "bias" or isinstance(mod, nn.LayerNorm)):
                    p.requires_grad_(True)
                    self._own.add(f"{mod_name}.{p_name}")
        dim = _vit.embed_dim(model)
        for block in _vit.require_standard_blocks(model, self.spec.id):
            ref = block.norm1.weight
            block.difffit_gamma_attn = nn.Parameter(torch.ones(dim, device=ref.device, dtype=ref.dtype))
            block.difffit_gamma_mlp = nn.Parameter(torch.ones(dim, device=ref.device, dtype=ref.dtype))
            _vit.set_forward(block, _difffit_block_forward)

    def merge(self, model: nn.Module) -> None:
        for block in _vit.blocks(model):
            for gamma_name, layer in (("difffit_gamma_attn", block.attn.proj), ("difffit_gamma_mlp", block.mlp.fc2)):
                gamma = getattr(block, gamma_name)
                layer.weight.mul_(gamma.to(layer.weight.dtype)[:, None])
                layer.bias.mul_(gamma.to(layer.bias.dtype))
                delattr(block, gamma_name)
            _vit.restore_forward(block)

    def owns(self, name: str) -> bool:
        return name in self._own or super().owns(name)
