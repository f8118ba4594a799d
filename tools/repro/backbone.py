"""The backbone: a timm model by name, a local weights file, or the tiny smoke ViT; then the method applied."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import UserError

# the smoke backbone: small enough for a 2-core CPU, big enough to learn digits
SMOKE_VIT: dict[str, Any] = dict(img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=2)
SMOKE_NAME = "smoke-vit"


def name_warning(name: str) -> str | None:
    """Why a timm name may not load the checkpoint the recipe means: an old alias timm now maps elsewhere (the
    original `vit_base_patch16_224_in21k` is AugReg today), or a name without a pretrained tag (timm's default)."""
    if name == SMOKE_NAME:
        return None
    from timm.models import _registry as registry

    target = registry.get_deprecated_models().get(name)
    if target:
        return (f"backbone {name}: timm maps this old name to {target}, which may not be the checkpoint the "
                "source used; name the exact one (the original ImageNet-21k ViT-B_16.npz is "
                "vit_base_patch16_224.orig_in21k)")
    arch, tag = registry.split_model_name_tag(name)
    default = registry._model_default_cfgs.get(arch)  # noqa: SLF001 (timm has no public lookup of the default tag)
    if not tag and default is not None and default.tags:
        return (f"backbone {name}: no pretrained tag, so timm loads its default {arch}.{default.tags[0]}; "
                "name the exact checkpoint (arch.tag)")
    return None


def create(name: str, num_classes: int, drop_path: float, weights: Path | None, pretrained: bool) -> nn.Module:
    """A timm ViT with a fresh head. `pretrained` lets timm fetch the weights (needs the hub); tests never do."""
    import timm
    from timm.models.vision_transformer import VisionTransformer

    if name == SMOKE_NAME:
        torch.manual_seed(0)  # the same "pretrained" smoke backbone in every process
        model: nn.Module = VisionTransformer(**SMOKE_VIT, num_classes=num_classes, drop_path_rate=drop_path)
    else:
        warning = name_warning(name)
        if warning is not None and pretrained and weights is None:
            print(f"vpeft: warning: {warning}", file=sys.stderr)
        try:
            model = timm.create_model(name, pretrained=pretrained and weights is None, num_classes=num_classes,
                                      drop_path_rate=drop_path)
        except RuntimeError as exc:  # unknown model name
            raise UserError(f"--model {name}: {str(exc).splitlines()[0]}") from None
    if weights is not None:
        load_weights(model, weights)
    return model


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    if suffix in {".pth", ".pt", ".bin"}:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
        for key in ("model", "state_dict", "module"):  # common checkpoint wrappers
            if isinstance(obj, dict) and isinstance(obj.get(key), dict):
                obj = obj[key]
        if not isinstance(obj, dict):
            raise UserError(f"--weights {path}: no state dict inside")
        return obj
    raise UserError(f"--weights {path}: unsupported file type '{suffix}' (use .npz, .safetensors or .pth)")


def load_weights(model: nn.Module, path: Path) -> None:
    """Load backbone weights from a local file; the classifier head is left as created (new task)."""
    if not path.is_file():
        raise UserError(f"--weights {path}: file not found")
    if path.suffix.lower() == ".npz":
        from timm.models.vision_transformer import _load_weights

        try:
            _load_weights(model, str(path))  # the original ViT release format (ViT-B_16.npz)
        except (KeyError, ValueError, RuntimeError) as exc:
            raise UserError(f"--weights {path}: does not fit the model ({str(exc).splitlines()[0]})") from None
        return
    try:
        raw = _state_dict(path)
    except UserError:
        raise
    except Exception as exc:  # a damaged file or a pickle naming a global weights_only refuses: never run it
        from .checkpoint import reason

        raise UserError(f"--weights {path}: not a readable weights file ({reason(exc)})") from None
    bad = next((k for k, v in raw.items() if not isinstance(v, torch.Tensor)), None)
    if bad is not None:
        raise UserError(f"--weights {path}: {bad} is not a tensor")
    state = {k: v for k, v in raw.items() if not k.startswith("head.")}
    own = model.state_dict()
    wrong = next((k for k, v in state.items() if k in own and own[k].shape != v.shape), None)
    if wrong is not None:
        raise UserError(f"--weights {path}: {wrong} has shape {tuple(state[wrong].shape)}, "
                        f"the model expects {tuple(own[wrong].shape)}")
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith("head.")]
    if missing or result.unexpected_keys:
        raise UserError(f"--weights {path}: missing {missing[:3]}, unexpected {list(result.unexpected_keys)[:3]}")


def build(name: str, num_classes: int, drop_path: float, weights: Path | None, pretrained: bool,
          method: str, options: dict[str, Any]) -> nn.Module:
    from .. import methods

    model = create(name, num_classes, drop_path, weights, pretrained)
    try:
        methods.apply(model, method, **options)
    except ValueError as exc:
        raise UserError(f"method {method}: {exc}") from None
    return model
