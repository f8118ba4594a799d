"""Backbone families: which kind of timm model an instance is, and the check that a method supports it.

A method declares the families it supports when it registers (`register(..., families=("vit", "swin"))`; default
`("vit",)`), and `api.apply` checks the model's family against that declaration before the method sees the model,
so an unsupported pair fails with one message naming the method, the model's family and the supported families.

Families are found from the model's class (timm's own classes, subclasses included), never from names:
- "vit": `timm.models.vision_transformer.VisionTransformer` and its subclasses (DeiT distilled, CLIP's pre-norm
  ViT, DINOv2 with LayerScale and register tokens, MAE-style average pooling with fc_norm: all the same class);
- "eva": `timm.models.eva.Eva` (EVA-02, and timm's other Eva-built models): its attention adds separate q/v biases
  through `F.linear` on `qkv.weight`, bypassing a wrapped `qkv` module, so it is not a "vit" for the methods
  that wrap that layer;
- "swin": `timm.models.swin_transformer.SwinTransformer` (stages of window-attention blocks, patch merging);
- "convnext": `timm.models.convnext.ConvNeXt`;
- "resnet": `timm.models.resnet.ResNet` (resnet*, resnext*, wide_resnet*, ...).
"""

from __future__ import annotations

from torch import nn

from .base import UnsupportedModelError

DEFAULT: tuple[str, ...] = ("vit",)

# family -> what it covers, for messages and listings
DESCRIPTIONS: dict[str, str] = {
    "vit": "timm VisionTransformer (vit_*, deit_*, CLIP, DINOv2, MAE-style ViTs)",
    "eva": "timm Eva (eva02_*)",
    "swin": "timm SwinTransformer (swin_*)",
    "convnext": "timm ConvNeXt (convnext_*)",
    "resnet": "timm ResNet (resnet*, resnext*)",
}
FAMILIES: tuple[str, ...] = tuple(DESCRIPTIONS)


def _classes() -> list[tuple[str, type]]:
    from timm.models.convnext import ConvNeXt
    from timm.models.eva import Eva
    from timm.models.resnet import ResNet
    from timm.models.swin_transformer import SwinTransformer
    from timm.models.vision_transformer import VisionTransformer

    return [("vit", VisionTransformer), ("eva", Eva), ("swin", SwinTransformer), ("convnext", ConvNeXt),
            ("resnet", ResNet)]


def family_of(model: nn.Module) -> str | None:
    """The family of a timm model instance, or None for any other module."""
    for family, cls in _classes():
        if isinstance(model, cls):
            return family
    return None


def check_declared(families: tuple[str, ...]) -> tuple[str, ...]:
    """`families` as given to `register`, checked to be known names (a typo would silently support nothing)."""
    unknown = [f for f in families if f not in DESCRIPTIONS]
    if not families or unknown:
        raise ValueError(f"families must be a non-empty subset of {', '.join(FAMILIES)}; got {families!r}")
    return tuple(families)


def require_family(model: nn.Module, method_id: str, families: tuple[str, ...]) -> str:
    """The model's family if `method_id` supports it; else one `UnsupportedModelError` naming all three."""
    family = family_of(model)
    if family in families:
        return family  # type: ignore[return-value]
    cls = f"{type(model).__module__}.{type(model).__name__}"
    found = f"family {family!r} ({cls})" if family else f"{cls}, which is not a timm model of a known family"
    supported = "; ".join(f"{f}: {DESCRIPTIONS[f]}" for f in families)
    raise UnsupportedModelError(f"method {method_id!r} does not support {found}; supported families: {supported}")
