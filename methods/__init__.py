"""Reference implementations of visual parameter-efficient fine-tuning methods on timm backbones.

    import timm
    from vpeft import methods
    model = timm.create_model("vit_base_patch16_224", num_classes=10)
    methods.apply(model, "lora", r=8)
    methods.trainable_parameters(model)          # 294912
    methods.merge(model)                         # back to a plain ViT with updated weights

See methods/README.md for adding a method.

The public names are imported on first use (PEP 562), not with the package: importing any submodule runs this
file first, and the torch-free ones (`_count_cache`, `_snapshot`, which let the site build without torch) would
otherwise pay for importing torch and timm.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_SOURCE = {
    **dict.fromkeys(["AppliedState", "applied", "apply", "load_trained", "make_config", "merge", "read_trained",
                     "save_trained", "trainable_parameters"], "api"),
    **dict.fromkeys(["Method", "MethodConfig", "NotMergeableError", "UnsupportedModelError"], "base"),
    **dict.fromkeys(["MethodSpec", "available", "get", "register"], "registry"),
}

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


def __getattr__(name: str) -> Any:
    if name not in _SOURCE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SOURCE[name]}"), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
