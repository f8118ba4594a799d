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
- Swin and ConvNeXt (family "swin", "convnext"): the official code at commit e94e0e7 wraps the same kinds of
  operations in its own copies of timm's models. `models/swin_transformer.py`: the patch embedding's conv and norm
  (L513-L531), every block's norm1 and norm2 (L331-L375), qkv and proj (L212-L255), fc1 and fc2 (L112-L126), the
  patch-merging norm (L397-L422; not its bias-less reduction) and the final norm (L620, L683-L684).
  `models/convnext.py`: the stem's conv and norm (L279-L287), each stage's downsample norm and conv
  (L221-L229), every block's depth-wise conv, norm, fc1 and fc2 (L127-L141, L180-L200), and the features after
  `norm_pre` (L354, L424-L425). timm's models have these modules under the names used here; the scale acts on
  the channel dimension (dim 1 after a conv or timm's LayerNorm2d, the last one otherwise).
- Merge on ConvNeXt is refused: the last scale-shift follows `norm_pre`, an Identity in timm's default head
  order (pool, norm, fc), with nothing to fold into (`unmergeable_families`). Swin merges fully.
- Count on ViT-B/16: 12 * 2 * (2304 + 768 + 3072 + 768 + 768 + 768) + 2 * 768 + 2 * 768 = 205,824 = 0.21M
  (published 0.21M).
"""

from __future__ import annotations

from pydantic import Field
from torch import nn

from . import _vit
from ._families import family_of
from .base import Method, MethodConfig, NotMergeableError
from .layers.scale_shift import ScaleShift
from .registry import register

_BLOCK_TARGETS = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2", "norm1", "norm2")
_CONVNEXT_BLOCK = ("conv_dw", "norm", "mlp.fc1", "mlp.fc2")
_FOLDABLE = (nn.Linear, nn.LayerNorm, nn.Conv2d)


class SSFConfig(MethodConfig):
    init_std: float = Field(0.02, ge=0)  # official init_ssf_scale_shift: N(1, .02) scale, N(0, .02) shift


def _out_channels(mod: nn.Module) -> int:
    if isinstance(mod, nn.Linear):
        return mod.out_features
    if isinstance(mod, nn.Conv2d):
        return mod.out_channels
    return int(mod.normalized_shape[0])  # type: ignore[union-attr]


def _channels_first(mod: nn.Module) -> bool:
    """Conv2d and timm's LayerNorm2d act on (B, C, H, W); Linear and LayerNorm on the last dimension."""
    return isinstance(mod, nn.Conv2d) or (isinstance(mod, nn.LayerNorm) and type(mod).__name__ == "LayerNorm2d")


def _vit_targets(model: nn.Module) -> list[str]:
    names = [f"{b}.{t}" for b in _vit.block_names(model) for t in _BLOCK_TARGETS]
    names += [n for n in ("norm", "fc_norm") if isinstance(getattr(model, n, None), nn.LayerNorm)]
    return [*names, "patch_embed.proj"]


def _swin_targets(model: nn.Module) -> list[str]:
    """Official swin_transformer.py: PatchEmbed proj and norm, every block's norm1, qkv, proj, norm2, fc1, fc2,
    PatchMerging's norm (not its bias-less reduction), the final norm."""
    names = ["patch_embed.proj"]
    if isinstance(getattr(model.patch_embed, "norm", None), nn.LayerNorm):  # patch_norm=True, timm's default
        names.append("patch_embed.norm")
    names += [f"{b}.{t}" for b in _vit.block_names(model) for t in _BLOCK_TARGETS]
    names += [f"layers.{s}.downsample.norm" for s, stage in enumerate(model.layers)
              if isinstance(getattr(stage.downsample, "norm", None), nn.LayerNorm)]
    return [*names, "norm"]


def _convnext_targets(model: nn.Module) -> list[str]:
    """Official convnext.py: stem conv and norm; each stage's downsample norm and conv; every block's conv_dw,
    norm, fc1, fc2; and the features after `norm_pre` (an Identity in the default head order), which
    `apply` wraps as a bare scale-shift."""
    names = ["stem.0", "stem.1"]
    for s, stage in enumerate(model.stages):
        if isinstance(stage.downsample, nn.Sequential):
            names += [f"stages.{s}.downsample.0", f"stages.{s}.downsample.1"]
        names += [f"stages.{s}.blocks.{j}.{t}" for j in range(len(stage.blocks)) for t in _CONVNEXT_BLOCK]
    return [*names, "norm_pre"]


_TARGETS = {"vit": _vit_targets, "swin": _swin_targets, "convnext": _convnext_targets}


@register("ssf", config=SSFConfig, mergeable=True, identity_at_init=False, paper="2210.08823",
          families=("vit", "swin", "convnext"))
class SSF(Method):
    cfg: SSFConfig
    unmergeable_families = ("convnext",)

    def identity_at_init(self) -> bool:
        return self.cfg.init_std == 0

    def _targets(self, model: nn.Module) -> list[str]:
        names = _TARGETS[family_of(model) or "vit"](model)
        for name in names:
            mod = model.get_submodule(name) if _has(model, name) else None
            if not isinstance(mod, _FOLDABLE) and not (name == "norm_pre" and isinstance(mod, nn.Identity)):
                raise _vit.UnsupportedModelError(
                    f"method 'ssf' needs a Linear/LayerNorm/Conv2d at {name!r}, found {type(mod).__name__}; "
                    f"supported: {_vit.SUPPORTED}, timm SwinTransformer, timm ConvNeXt"
                )
        return names

    def check_model(self, model: nn.Module) -> None:
        super().check_model(model)
        self._targets(model)

    def apply(self, model: nn.Module) -> None:
        for name in self._targets(model):
            mod = model.get_submodule(name)
            dim = model.num_features if isinstance(mod, nn.Identity) else _out_channels(mod)
            channel_dim = 1 if _channels_first(mod) or isinstance(mod, nn.Identity) else -1
            ref = next(model.parameters())
            wrapper = ScaleShift(mod, dim, self.cfg.init_std, channel_dim).to(ref.device, ref.dtype)
            _vit.replace_module(model, name, wrapper)

    def merge(self, model: nn.Module) -> None:
        wrapped = [(n, m) for n, m in model.named_modules() if isinstance(m, ScaleShift)]
        for name, mod in wrapped:
            if isinstance(mod.base, nn.Identity):
                raise NotMergeableError(
                    f"ssf: the scale-shift on the ConvNeXt features ({name}, official convnext.py L424-L425) "
                    "follows no layer it could be folded into; cannot merge"
                )
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
