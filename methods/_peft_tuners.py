"""Hugging Face `peft` tuners as our methods: ids, typed configs built from peft's config dataclasses, injection.

Used by `peft_bridge` (which registers the tuners) and `_peft_probe` (which decides which tuners work on a timm
ViT). The probe reads the installed peft: its tuner registry (`PEFT_TYPE_TO_CONFIG_MAPPING`,
`PEFT_TYPE_TO_TUNER_MAPPING`), its config dataclasses' fields, types and defaults, and stores what it found;
peft itself is imported only when a tuner is applied (`inject`, `peft_config`) or probed, never at registration.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import types
import typing
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, create_model, field_validator
from torch import nn

from .base import MethodConfig

# The nn.Linear layers of a timm ViT block a tuner can target (names as in timm's Block).
LINEARS = {"qkv": r"attn\.qkv", "proj": r"attn\.proj", "fc1": r"mlp\.fc1", "fc2": r"mlp\.fc2"}
DEFAULT_TARGET = "qkv"  # as our LoRA and peft_interop: the fused attention input projection

ADAPTER = "default"  # peft's adapter name; it appears in parameter names (lora_A.default.weight)

# Ids that differ from peft's type name lower-cased with '_' -> '-' (catalog style, as the papers write them).
_IDS = {"VBLORA": "vb-lora"}

# Our methods derived from one peft type with a setting fixed: id -> (peft type, fixed settings).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {"dora": ("LORA", {"use_dora": True})}

# peft types whose method we implement natively under the id given; the native one keeps the id.
NATIVE = {"LORA": "lora", "GLORA": "glora", "LN_TUNING": "ln-tune"}

# peft config fields that are not options of ours, and why (the value peft gets is its default or set by us).
NOT_OPTIONS = {
    "task_type": "a transformers task head; our models are timm classifiers",
    "peft_type": "set by the id",
    "auto_mapping": "peft bookkeeping",
    "peft_version": "peft bookkeeping",
    "base_model_name_or_path": "peft bookkeeping",
    "revision": "peft bookkeeping",
    "inference_mode": "we freeze and unfreeze ourselves",
    "target_modules": "set from our `target` option",
    "feedforward_modules": "set from our `target` option (IA3: fc2 is the feed-forward layer)",
    "fan_in_fan_out": "timm uses nn.Linear (weight out x in), never GPT-2's Conv1D",
    "bias": "would train backbone biases; our methods train only their own parameters and the head",
    "megatron_core": "Megatron-LM only",
    "progressbar": "FRoD's tqdm bar on stderr; set to False (`QUIET`)",
}
QUIET = {"progressbar": False}  # given to peft whenever its config has the field: our commands print no bars


class PeftMissingError(ImportError):
    """A bridged method was applied (or probed) where peft is not installed."""


def _mapping() -> types.ModuleType:
    """peft's tuner registry module. peft's BOFT imports torch.utils.cpp_extension when it builds a layer, which logs
    a warning on machines without CUDA; importing it here with that logger held back (during the import only)
    keeps `vpeft` commands' stderr clean."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        import peft.mapping
        import torch.utils.cpp_extension  # noqa: F401 - imported once, quietly (see above)
    except ModuleNotFoundError as exc:
        raise PeftMissingError("this method is Hugging Face peft's tuner: install peft (pip install peft)") from exc
    finally:
        logger.setLevel(level)
    return peft.mapping


def method_id(peft_type: str) -> str:
    return _IDS.get(peft_type, peft_type.lower().replace("_", "-"))


def config_class(peft_type: str) -> type:
    return _mapping().PEFT_TYPE_TO_CONFIG_MAPPING[peft_type]


def tuner_class(peft_type: str) -> type:
    return _mapping().PEFT_TYPE_TO_TUNER_MAPPING[peft_type]


def peft_types() -> list[str]:
    """Every tuner type of the installed peft, in its registry's order."""
    return [str(getattr(t, "value", t)) for t in _mapping().PEFT_TYPE_TO_CONFIG_MAPPING]


# -- typed configs -------------------------------------------------------------------------------------------------
_SCALARS = (bool, int, float, str, type(None))


def _is_scalar(hint: Any) -> bool:
    """bool / int / float / str / None, a Literal of such values, or a Union of these."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return all(isinstance(v, _SCALARS) for v in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return all(_is_scalar(a) for a in typing.get_args(hint))
    return hint in _SCALARS


def option_fields(peft_type: str, fixed: dict[str, Any] | None = None) -> dict[str, tuple[Any, Any]]:
    """peft's config fields that become our options: scalar-typed, with a plain default, not in NOT_OPTIONS nor
    fixed by a variant. name -> (type hint, default). Reads the installed peft (the probe stores the result)."""
    cls = config_class(peft_type)
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[Any, Any]] = {}
    for f in dataclasses.fields(cls):
        if f.name in NOT_OPTIONS or f.name in (fixed or {}) or f.default is dataclasses.MISSING:
            continue
        if _is_scalar(hints[f.name]):
            out[f.name] = (hints[f.name], f.default)
    return out


# A scalar type hint as JSON, so that the stored table (peft_tuners.json) holds the options and registering the
# bridged methods never imports peft: "int" (bool, int, float, str, None), {"literal": [...]}, {"union": [...]}.
_NAMES: dict[str, Any] = {"bool": bool, "int": int, "float": float, "str": str, "None": type(None)}


def encode_hint(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return {"literal": list(typing.get_args(hint))}
    if origin in (typing.Union, types.UnionType):
        return {"union": [encode_hint(a) for a in typing.get_args(hint)]}
    return next(name for name, t in _NAMES.items() if t is hint)


def decode_hint(data: Any) -> Any:
    if isinstance(data, str):
        return _NAMES[data]
    if "literal" in data:
        return Literal[tuple(data["literal"])]
    return typing.Union[tuple(decode_hint(a) for a in data["union"])]  # noqa: UP007 - built at run time


def stored_options(peft_type: str, fixed: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """`option_fields` as JSON for the stored table: name -> {"type": encoded hint, "default": peft's default}."""
    return {name: {"type": encode_hint(hint), "default": default}
            for name, (hint, default) in option_fields(peft_type, fixed).items()}


class PeftTunerConfig(MethodConfig):
    """Options of a peft tuner: `target` (ours) plus the scalar fields of peft's config, with peft's defaults."""

    target: str = Field(DEFAULT_TARGET, description="comma-separated block linears: qkv, proj, fc1, fc2")

    @field_validator("target")
    @classmethod
    def _known_linears(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = [n for n in names if n not in LINEARS]
        if not names or unknown:
            raise ValueError(f"target must name block linears among {', '.join(LINEARS)}; got {value!r}")
        return ",".join(n for n in LINEARS if n in names)  # canonical order, duplicates dropped


def typed_config(our_id: str, peft_type: str, options: dict[str, dict[str, Any]]) -> type[PeftTunerConfig]:
    """A pydantic config class for `our_id`: `target` plus peft's scalar options as stored (`stored_options`):
    types and defaults as peft's. Built without importing peft."""
    fields = {name: (decode_hint(o["type"]), o["default"]) for name, o in options.items()}
    name = "".join(part.capitalize() for part in re.split(r"[-_]", our_id)) + "Config"
    cls = create_model(name, __base__=PeftTunerConfig, __module__=__name__, **fields)  # type: ignore[call-overload]
    cls.__doc__ = (f"Options of {our_id!r}: `target` (block linears) and the scalar fields of peft's "
                   f"{peft_type} config, with peft's defaults.")
    return cls


# -- building and injecting ----------------------------------------------------------------------------------------
def target_regex(target: str) -> str:
    """peft `target_modules` as one regular expression (peft full-matches module names): only the blocks'
    linears, so `proj` never matches `patch_embed.proj` (a Conv2d)."""
    return r".*blocks\.\d+\.(" + "|".join(LINEARS[n] for n in target.split(",")) + ")"


def peft_config(peft_type: str, cfg: PeftTunerConfig, fixed: dict[str, Any] | None = None) -> Any:
    """peft's config object for our typed config."""
    options = cfg.model_dump(exclude={"target"})
    names = {f.name for f in dataclasses.fields(config_class(peft_type))}
    extra: dict[str, Any] = {k: v for k, v in QUIET.items() if k in names}
    if "feedforward_modules" in names:
        ff = [n for n in cfg.target.split(",") if n == "fc2"]
        extra["feedforward_modules"] = target_regex("fc2") if ff else []
    return config_class(peft_type)(target_modules=target_regex(cfg.target), **extra, **options, **(fixed or {}))


def inject(model: nn.Module, peft_type: str, config: Any) -> Any:
    """Wrap the targeted layers of `model` in place with peft's tuner layers; returns peft's tuner object
    (kept for merging; it holds `model` but is not attached to it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peft warns about model types it has no default targets for
        return tuner_class(peft_type)(model, config, adapter_name=ADAPTER)


def unload(model: nn.Module, tuner: Any, merge: bool) -> None:
    """Put the base layers back (folding the adapters in when `merge`) and drop what peft left on the model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if merge:
            tuner.merge_and_unload()
        else:
            tuner.unload()
    for attr in ("peft_config", "_hf_peft_config_loaded"):
        if attr in model.__dict__:
            delattr(model, attr)


@dataclass(frozen=True)
class Candidate:
    """One method the bridge could register: our id, peft's type, settings fixed by the id."""

    id: str
    peft_type: str
    fixed: dict[str, Any]


def candidates() -> list[Candidate]:
    """Every peft type as our id (natives included: the probe reports them as left out), then the variants."""
    out = [Candidate(method_id(t), t, {}) for t in peft_types()]
    return out + [Candidate(i, t, dict(f)) for i, (t, f) in VARIANTS.items() if t in peft_types()]
