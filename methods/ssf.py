"""SSF: Scaling & Shifting your Features (Lian et al., NeurIPS 2022, arXiv:2210.08823).

Sources and choices:
- Official code: github.com/dongzelian/SSF, `models/vision_transformer.py` (`init_ssf_scale_shift`, `ssf_ada`):
  a per-channel scale and shift after every operation: attn.qkv, attn.proj, mlp.fc1, mlp.fc2, norm1, norm2 of
  every block, the patch embedding and the final norm. We wrap the same modules with `ScaleShift`.
- Patch embedding: the official code scales the flattened tokens after `patch_embed.norm`; timm ViTs have an
  Identity there, so we scale the conv's output channels (identical, and foldable into the conv). With
  `global_pool="avg"` timm uses `fc_norm` instead of `norm`; we wrap whichever is a LayerNorm.
- Init: the official code draws scale ~ N(1, 0.02) and shift ~ N(0, 0.02) (`init_std=0.02`, the default here);
  `init_std=0` starts exactly at (1, 0), i.e. the frozen backbone (the paper's re-parameterisation view, Sec. 3.2).
- Computation reorganised but equal (the official `ssf_ada` computes `x * scale + shift` after each module, which
  keeps every wrapped output for the scale's gradient): after a LayerNorm the scale and shift are folded into the
  norm's affine parameters in every forward; after a linear or the patch-embedding conv the backward works from the
  output, which the next op keeps anyway (`layers/scale_shift.py`). Same outputs and gradients, and fewer
  saved activation bytes than full fine-tuning.
- Merge: scale/shift fold into the preceding linear / LayerNorm / conv weights (paper Sec. 3.3), leaving the
  plain backbone. Layers without a bias (e.g. `qkv_bias=False`) cannot absorb the shift; merge refuses them.
- Count on ViT-B/16: 12 * 2 * (2304 + 768 + 3072 + 768 + 768 + 768) + 2 * 768 + 2 * 768 = 205,824 = 0.21M
  (published 0.21M).
"""

from __future__ import annotations

from pydantic import Field
from torch import nn

from . import _vit
from .base import Method, MethodConfig, NotMergeableError
from .layers.scale_shift import ScaleShift
from .registry import register

_BLOCK_TARGETS = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2", "norm1", "norm2")


class SSFConfig(MethodConfig):
    init_std: float = Field(0.02, ge=0)  # official init_ssf_scale_shift: N(1, .02) scale, N(0, .02) shift


def _out_channels(mod: nn.Module) -> int:
    if isinstance(mod, nn.Linear):
        return mod.out_features
    if isinstance(mod, nn.Conv2d):
        return mod.out_channels
    return int(mod.normalized_shape[0])  # type: ignore[union-attr]


@register("ssf", config=SSFConfig, mergeable=True, identity_at_init=False, paper="2210.08823")
class SSF(Method):
    cfg: SSFConfig

    def identity_at_init(self) -> bool:
        return self.cfg.init_std == 0

    def _targets(self, model: nn.Module) -> list[str]:
        names = [f"blocks.{i}.{t}" for i in range(len(_vit.blocks(model))) for t in _BLOCK_TARGETS]
        names += [n for n in ("norm", "fc_norm") if isinstance(getattr(model, n, None), nn.LayerNorm)]
        names.append("patch_embed.proj")
        for name in names:
            mod = model.get_submodule(name) if _has(model, name) else None
            if not isinstance(mod, (nn.Linear, nn.LayerNorm, nn.Conv2d)):
                raise _vit.UnsupportedModelError(
                    f"method 'ssf' needs a Linear/LayerNorm/Conv2d at {name!r}, found {type(mod).__name__}; "
                    f"supported: {_vit.SUPPORTED}"
                )
        return names

    def check_model(self, model: nn.Module) -> None:
        super().check_model(model)
        self._targets(model)

    def apply(self, model: nn.Module) -> None:
        for name in self._targets(model):
            mod = model.get_submodule(name)
            channel_dim = 1 if isinstance(mod, nn.Conv2d) else -1
            ref = next(mod.parameters())
            wrapper = ScaleShift(mod, _out_channels(mod), self.cfg.init_std, channel_dim).to(ref.device, ref.dtype)
            _vit.replace_module(model, name, wrapper)

    def merge(self, model: nn.Module) -> None:
        wrapped = [(n, m) for n, m in model.named_modules() if isinstance(m, ScaleShift)]
        for name, mod in wrapped:
            if getattr(mod.base, "bias", None) is None:
                raise NotMergeableError(f"ssf: {name} has no bias to absorb the shift; cannot merge")
        for name, mod in wrapped:
            _vit.replace_module(model, name, mod.merge())


def _has(model: nn.Module, name: str) -> bool:
    try:
        model.get_submodule(name)
    except AttributeError:
        return False
    return True
