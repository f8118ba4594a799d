"""The public operations: apply a method, count trainable parameters, merge, save and load what was trained.

The applied method and its config are recorded on the model (attribute `_vpeft_state`), so `merge` and
`save_trained` need nothing but the model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from . import _vit
from ._families import require_family
from .base import Method, MethodConfig, NotMergeableError
from .registry import available, get

_STATE_ATTR = "_vpeft_state"
_FORMAT = "1"


@dataclass
class AppliedState:
    """What `apply` recorded on a model."""

    method: Method
    config: MethodConfig
    trained: list[str]  # parameter names that were trainable right after apply (method's + head)
    extra: list[str] = field(default_factory=list)  # state_dict keys of method buffers saved alongside

    @property
    def method_id(self) -> str:
        return self.method.spec.id


def applied(model: nn.Module) -> AppliedState | None:
    """The state `apply` recorded on `model`, or None for a plain backbone (or one already merged)."""
    return getattr(model, _STATE_ATTR, None)


def _require_state(model: nn.Module, action: str) -> AppliedState:
    state = applied(model)
    if state is None:
        raise ValueError(f"cannot {action}: no method has been applied to this model (use methods.apply first)")
    return state


def make_config(method_id: str, cfg: MethodConfig | None = None, **options: Any) -> MethodConfig:
    """The typed config of `method_id` from a config object or keyword options (not both)."""
    spec = get(method_id)
    if cfg is not None:
        if options:
            raise TypeError("give either a config object or keyword options, not both")
        if not isinstance(cfg, spec.config):
            raise TypeError(f"config for {method_id!r} must be {spec.config.__name__}, got {type(cfg).__name__}")
        return cfg
    unknown = sorted(set(options) - set(spec.config.model_fields))
    if unknown:
        allowed = ", ".join(spec.config.options()) or "(none)"
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for method {method_id!r}; allowed: {allowed}")
    return spec.config(**options)


def apply(model: nn.Module, method_id: str, cfg: MethodConfig | None = None, **options: Any) -> nn.Module:
    """Apply `method_id` to `model` in place and return it.

    Every existing parameter is frozen; the method's parameters and the classifier head stay trainable.
    """
    if applied(model) is not None:
        raise ValueError(
            f"method {applied(model).method_id!r} is already applied to this model; "  # type: ignore[union-attr]
            "merge it or start from a fresh backbone"
        )
    config = make_config(method_id, cfg, **options)
    spec = get(method_id)
    method = spec.make(config)
    require_family(model, spec.id, spec.families)  # one message for an unsupported family, before any method check
    method.check_model(model)
    model.requires_grad_(False)
    method.apply(model)
    model.train(model.training)  # inserted modules start in train mode; match the model's mode
    for head in _vit.heads(model):
        head.requires_grad_(True)
    trained = [name for name, p in model.named_parameters() if p.requires_grad]
    extra = sorted({*method.extra_state(model), *_batchnorm_statistics(model)})
    setattr(model, _STATE_ATTR, AppliedState(method=method, config=config, trained=trained, extra=extra))
    return model


def _batchnorm_statistics(model: nn.Module) -> list[str]:
    """state_dict keys of BatchNorm running statistics (ResNets): training in train mode updates them, so a saved
    file without them would not reproduce the trained model."""
    return [f"{name}.{key}" for name, mod in model.named_modules() if isinstance(mod, nn.modules.batchnorm._BatchNorm)
            for key, buf in mod.named_buffers(recurse=False) if buf is not None]


def trainable_parameters(model: nn.Module, include_head: bool = False) -> int:
    """Number of trainable parameter elements (shared parameters counted once)."""
    head = set() if include_head else _vit.head_parameters(model)
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if p.requires_grad and id(p) not in head and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def merge(model: nn.Module) -> nn.Module:
    """Fold the applied method into the backbone weights; afterwards `model` has the plain backbone's modules."""
    state = _require_state(model, "merge")
    spec = state.method.spec
    if not spec.mergeable:
        mergeable = ", ".join(i for i in available() if get(i).mergeable)
        raise NotMergeableError(
            f"method {spec.id!r} cannot be merged into the backbone weights (it changes the computation, "
            f"not just the weights); mergeable methods: {mergeable}"
        )
    with torch.no_grad():
        state.method.merge(model)
    delattr(model, _STATE_ATTR)
    return model


def _trained_tensors(model: nn.Module, state: AppliedState) -> dict[str, torch.Tensor]:
    sd = model.state_dict(keep_vars=True)
    return {k: sd[k].detach().to("cpu").contiguous().clone() for k in [*state.trained, *state.extra]}


def save_trained(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Save the trained tensors (method parameters, head, method buffers) and the config as safetensors."""
    state = _require_state(model, "save")
    write_trained(path, state.method_id, state.config, _trained_tensors(model, state), state.trained)


def write_trained(
    path: str | os.PathLike[str],
    method_id: str,
    config: MethodConfig,
    tensors: dict[str, torch.Tensor],
    trained: list[str],
) -> None:
    """Write a `save_trained` file from its parts (used by converters such as `methods.peft_interop`)."""
    metadata = {
        "vpeft.format": _FORMAT,
        "vpeft.method": method_id,
        "vpeft.config": config.to_json(),
        "vpeft.trained": json.dumps(trained),
    }
    save_file(tensors, os.fspath(path), metadata=metadata)


def read_trained(path: str | os.PathLike[str]) -> tuple[str, MethodConfig, dict[str, torch.Tensor]]:
    """(method id, config, tensors) stored by `save_trained`."""
    with safe_open(os.fspath(path), framework="pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    if meta.get("vpeft.format") != _FORMAT or "vpeft.method" not in meta:
        raise ValueError(f"{os.fspath(path)!r} was not written by methods.save_trained (no vpeft metadata)")
    spec = get(meta["vpeft.method"])
    return spec.id, spec.config.model_validate_json(meta["vpeft.config"]), tensors


def load_trained(model: nn.Module, path: str | os.PathLike[str]) -> nn.Module:
    """Load a `save_trained` file onto `model` (a fresh backbone, or one with the same method applied)."""
    method_id, config, tensors = read_trained(path)
    state = applied(model)
    if state is None:
        apply(model, method_id, cfg=config)
        state = _require_state(model, "load")
    elif state.method_id != method_id or state.config != config:
        raise ValueError(
            f"the file holds {method_id!r} with {config!r} but the model has {state.method_id!r} "
            f"with {state.config!r} applied"
        )
    expected = {*state.trained, *state.extra}
    if set(tensors) != expected:
        missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        raise ValueError(f"tensors in file do not match the model: missing {missing}, unexpected {unexpected}")
    sd = model.state_dict(keep_vars=True)
    with torch.no_grad():
        for key, value in tensors.items():
            if sd[key].shape != value.shape:
                raise ValueError(
                    f"{key}: file has shape {tuple(value.shape)}, model has {tuple(sd[key].shape)} "
                    "(different backbone or number of classes?)"
                )
            sd[key].copy_(value)
    return model
