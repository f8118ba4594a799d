"""Reference implementations of visual parameter-efficient fine-tuning methods on timm backbones.

    import timm
    from vpeft import methods
    model = timm.create_model("vit_base_patch16_224", num_classes=10)
    methods.apply(model, "lora", r=8)
    methods.trainable_parameters(model)          # 294912
    methods.merge(model)                         # back to a plain ViT with updated weights

See methods/README.md for adding a method.
"""

from .api import (
    AppliedState,
    applied,
    apply,
    load_trained,
    make_config,
    merge,
    read_trained,
    save_trained,
    trainable_parameters,
)
from .base import Method, MethodConfig, NotMergeableError, UnsupportedModelError
from .registry import MethodSpec, available, get, register

__all__ = [
    "AppliedState",
    "Method",
    "MethodConfig",
    "MethodSpec",
    "NotMergeableError",
    "UnsupportedModelError",
    "applied",
    "apply",
    "available",
    "get",
    "load_trained",
    "make_config",
    "merge",
    "read_trained",
    "register",
    "save_trained",
    "trainable_parameters",
]
