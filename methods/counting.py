"""Parameter counts of a method on a named timm backbone, computed on the meta device (no memory, no weights).

    from .counting import parameter_counts
    parameter_counts("lora", "vit_base_patch16_224").trainable_excluding_head   # 294912

Building under `with torch.device("meta"):` creates every tensor without storage, so ViT-B/16 (86M parameters)
is built and counted in well under a second; shapes, and therefore counts, are those of a real model. timm
supports it: its initialisers are plain `torch.nn.init` calls, which are no-ops on meta tensors, and
`pretrained=False` loads nothing. Not a method module: it registers nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .api import apply, make_config, trainable_parameters

DEFAULT_MODEL = "vit_base_patch16_224"


class UnknownModelError(ValueError):
    """`model_name` is not a timm model name."""


@dataclass(frozen=True)
class ParameterCounts:
    """Parameter elements of a model after a method is applied (shared parameters counted once)."""

    total: int
    trainable: int
    trainable_excluding_head: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def meta_model(model_name: str = DEFAULT_MODEL, device: str = "meta", **model_kwargs: Any) -> nn.Module:
    """The timm model `model_name` (pretrained=False) with every tensor on `device` (default: meta)."""
    import timm

    if not timm.is_model(model_name):
        raise UnknownModelError(f"unknown timm model {model_name!r} (see timm.list_models())")
    with torch.device(device):
        if device == "meta" and "weight_init" not in model_kwargs:
            try:  # initialisation only writes values and meta tensors hold none: timm's ViTs skip it on request (5x)
                return timm.create_model(model_name, pretrained=False, weight_init="skip", **model_kwargs)
            except TypeError:  # a family without that option (Swin, ConvNeXt, ResNet) is built as it is
                pass
        return timm.create_model(model_name, pretrained=False, **model_kwargs)


def total_parameters(model: nn.Module) -> int:
    """All parameter elements, shared parameters counted once."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def parameter_counts(
    method_id: str, model_name: str = DEFAULT_MODEL, model_kwargs: dict[str, Any] | None = None, **options: Any
) -> ParameterCounts:
    """Counts of `method_id` (its typed config built from `options`) applied to a meta `model_name`.

    A model or method that needs real tensor data (meta tensors have none: `.item()`, data-dependent shapes)
    is counted on a CPU-built model instead; the counts are the same, only slower.
    """
    make_config(method_id, **options)  # config errors first, before any model is built

    def applied_on(device: str) -> nn.Module:
        model = meta_model(model_name, device=device, **(model_kwargs or {}))
        return apply(model, method_id, **options)

    try:
        model = applied_on("meta")
    except (NotImplementedError, RuntimeError):  # the model or the method needs real data
        model = applied_on("cpu")
    return ParameterCounts(
        total=total_parameters(model),
        trainable=trainable_parameters(model, include_head=True),
        trainable_excluding_head=trainable_parameters(model),
    )
