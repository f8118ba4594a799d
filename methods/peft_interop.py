"""Convert our saved LoRA weights to a Hugging Face `peft` adapter folder and back, one call each; `to_peft` also
writes the files of the methods bridged from peft (`peft_bridge`, via `_peft_export`) as adapter folders.

    from .peft_interop import to_peft, from_peft
    to_peft("lora.safetensors", "adapter/")          # adapter_config.json + adapter_model.safetensors
    model = PeftModel.from_pretrained(timm_vit, "adapter/")
    from_peft("adapter/", "lora.safetensors")        # loadable with methods.load_trained(fresh_vit, ...)

How the two LoRAs line up (checked against peft 0.21, `peft/tuners/lora/layer.py`, and by the tests):
- peft with `target_modules=["qkv"]` wraps each timm `blocks.i.attn.qkv` with one pair lora_A (r x C),
  lora_B (3C x r), output `base(x) + lora_B(lora_A(dropout(x))) * lora_alpha / r`. Our default
  `target="qkv"` is the same layer and the same scaling alpha / r: the tensors are ours with the leading slice
  axis removed, and `lora_alpha` = our `alpha`.
- Our `target="q,v"` (the LoRA paper's pairs on the q and v rows) has no peft counterpart on a fused layer; it is
  exported exactly as one rank-2r pair, A = [A_q; A_v] and B = [[B_q, 0], [0, 0], [0, B_v]] (rows q, k, v), with
  `lora_alpha` = 2 alpha so that the scaling stays alpha / r. The file records the origin (safetensors metadata
  `vpeft.target`), and `from_peft` unpacks it again, checking that the zero blocks are still zero.
- The trained classifier head travels as peft's `modules_to_save` (peft stores it as `base_model.model.head.*`).
- Refused with a message naming the setting: DoRA, rsLoRA, rank/alpha patterns, LoRA biases, fan_in_fan_out,
  `layers_to_transform`, target modules other than `qkv`, adapters without a trained head, files of other
  methods. Nothing is overwritten unless `overwrite=True`.
peft itself is not needed to convert (only to load the result); the config is written as peft's JSON.
Not a method module: it registers nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ._peft_export import write_adapter
from ._peft_tuners import PeftTunerConfig
from .api import read_trained, write_trained
from .lora import LoRAConfig
from .registry import get

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_PREFIX = "base_model.model."  # peft's names of the wrapped model's modules
_A, _B = ".lora_A", ".lora_B"  # our parameter names on LoRALinear
_TARGET_KEY = "vpeft.target"


class PeftConversionError(ValueError):
    """The file or adapter uses something that has no exact counterpart on the other side."""


# -- tensors -----------------------------------------------------------------------------------------------------
def to_peft_state_dict(tensors: dict[str, torch.Tensor], target: str = "qkv") -> dict[str, torch.Tensor]:
    """Our trained tensors (LoRA pairs and head) in peft's saved naming; `target` is our LoRA config's."""
    out: dict[str, torch.Tensor] = {}
    for key, t in tensors.items():
        if key.endswith(_A):
            out[f"{_PREFIX}{key[: -len(_A)]}.lora_A.weight"] = t.flatten(0, 1).clone()  # (n*r, C): [A_q; A_v]
        elif key.endswith(_B):
            out[f"{_PREFIX}{key[: -len(_B)]}.lora_B.weight"] = _pack_b(t) if target == "q,v" else t[0].clone()
        else:
            out[_PREFIX + key] = t.clone()
    return out


def _pack_b(b: torch.Tensor) -> torch.Tensor:
    """(2, d, r) B_q, B_v -> (3d, 2r) with B_q in rows q / columns of A_q, B_v in rows v / columns of A_v."""
    _, d, r = b.shape
    packed = b.new_zeros(3 * d, 2 * r)
    packed[:d, :r] = b[0]
    packed[2 * d :, r:] = b[1]
    return packed


def _unpack_b(key: str, packed: torch.Tensor) -> torch.Tensor:
    rows, cols = packed.shape
    d, r = rows // 3, cols // 2
    b = torch.stack([packed[:d, :r], packed[2 * d :, r:]])
    rest = packed.clone()
    rest[:d, :r] = 0
    rest[2 * d :, r:] = 0
    if rows % 3 or cols % 2 or rest.count_nonzero():
        raise PeftConversionError(f"{key}: not the block layout of an exported target='q,v' LoRA (k rows or "
                                  "off-diagonal blocks are non-zero); convert it as target='qkv' instead")
    return b


def from_peft_state_dict(tensors: dict[str, torch.Tensor], target: str = "qkv") -> dict[str, torch.Tensor]:
    """A peft LoRA state dict (adapter name removed, as saved) in our naming."""
    out: dict[str, torch.Tensor] = {}
    for key, t in tensors.items():
        if not key.startswith(_PREFIX):
            raise PeftConversionError(f"{key}: expected peft's '{_PREFIX}' prefix")
        name = key.removeprefix(_PREFIX)
        if name.endswith(".lora_A.weight"):
            layer = name.removesuffix(".lora_A.weight")
            _check_qkv(key, layer)
            out[layer + _A] = t.unflatten(0, (2, -1)).clone() if target == "q,v" else t.unsqueeze(0).clone()
        elif name.endswith(".lora_B.weight"):
            layer = name.removesuffix(".lora_B.weight")
            _check_qkv(key, layer)
            out[layer + _B] = _unpack_b(key, t) if target == "q,v" else t.unsqueeze(0).clone()
        elif ".lora_" in name or "lora_magnitude" in name:
            raise PeftConversionError(f"{key}: unsupported LoRA tensor (only lora_A / lora_B weights convert)")
        else:
            out[name] = t.clone()
    return out


def _check_qkv(key: str, layer: str) -> None:
    if not layer.endswith("attn.qkv"):
        raise PeftConversionError(f"{key}: LoRA on {layer!r}; only the blocks' fused attn.qkv layers convert")


# -- config ------------------------------------------------------------------------------------------------------
def _peft_config(cfg: LoRAConfig, modules_to_save: list[str]) -> dict[str, Any]:
    pairs = 2 if cfg.target == "q,v" else 1
    return {
        "peft_type": "LORA",
        "task_type": None,
        "base_model_name_or_path": None,
        "inference_mode": True,
        "r": cfg.r * pairs,
        "lora_alpha": cfg.alpha * pairs,  # scaling lora_alpha / r stays alpha / r (both doubled exactly)
        "lora_dropout": cfg.dropout,
        "target_modules": ["qkv"],
        "modules_to_save": modules_to_save or None,
        "bias": "none",
        "lora_bias": False,
        "fan_in_fan_out": False,
        "use_rslora": False,
        "use_dora": False,
        "init_lora_weights": True,
        "rank_pattern": {},
        "alpha_pattern": {},
        "layers_to_transform": None,
        "layers_pattern": None,
    }


# settings whose non-default values change the computation in ways our LoRA does not have
_MUST_BE = {
    "peft_type": "LORA",
    "use_dora": False,
    "use_rslora": False,
    "bias": "none",
    "lora_bias": False,
    "fan_in_fan_out": False,
    "layers_to_transform": None,
    "rank_pattern": {},
    "alpha_pattern": {},
}


def _our_config(peft: dict[str, Any], where: str, target: str) -> LoRAConfig:
    for field, wanted in _MUST_BE.items():
        value = peft.get(field, wanted)
        if value != wanted and not (wanted == {} and value is None):
            raise PeftConversionError(f"{where}: {field}={peft[field]!r} has no counterpart in our LoRA "
                                      f"(needs {wanted!r})")
    targets = peft.get("target_modules")
    if targets not in (["qkv"], "qkv", ("qkv",)):
        raise PeftConversionError(f"{where}: target_modules={targets!r}; only ['qkv'] converts")
    pairs = 2 if target == "q,v" else 1
    r, alpha = int(peft["r"]), float(peft["lora_alpha"])
    if r % pairs:
        raise PeftConversionError(f"{where}: r={r} is odd, so it is not an exported target='q,v' LoRA")
    return LoRAConfig(r=r // pairs, alpha=alpha / pairs, dropout=float(peft.get("lora_dropout") or 0.0),
                      target=target)  # type: ignore[arg-type]


# -- files -------------------------------------------------------------------------------------------------------
def _refuse_existing(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")


def to_peft(trained_file: str | os.PathLike[str], adapter_dir: str | os.PathLike[str],
            overwrite: bool = False) -> Path:
    """Write our `save_trained` LoRA file as a peft adapter folder; returns the folder."""
    method_id, cfg, tensors = read_trained(trained_file)
    bridged = isinstance(cfg, PeftTunerConfig)  # a method of peft_bridge: peft's own layers, renamed only
    if not bridged and (method_id != "lora" or not isinstance(cfg, LoRAConfig)):
        raise PeftConversionError(f"{os.fspath(trained_file)}: holds method {method_id!r}; only 'lora' converts, "
                                  "and the methods bridged from peft (methods.peft_bridge)")
    out = Path(adapter_dir)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        _refuse_existing(out / name, overwrite)
    if bridged:
        return write_adapter(get(method_id).cls, cfg, tensors, out)  # type: ignore[arg-type]
    heads = sorted({k.rpartition(".")[0] for k in tensors if not k.endswith((_A, _B))})
    out.mkdir(parents=True, exist_ok=True)
    save_file(to_peft_state_dict(tensors, cfg.target), os.fspath(out / WEIGHTS_FILE),
              metadata={"format": "pt", _TARGET_KEY: cfg.target})
    (out / CONFIG_FILE).write_text(json.dumps(_peft_config(cfg, heads), indent=2) + "\n", encoding="utf-8")
    return out


def from_peft(adapter_dir: str | os.PathLike[str], trained_file: str | os.PathLike[str],
              overwrite: bool = False) -> Path:
    """Write a peft LoRA adapter folder (saved with `modules_to_save` for the head) as our `save_trained` file."""
    folder = Path(adapter_dir)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found (a peft adapter folder has {CONFIG_FILE} and {WEIGHTS_FILE})")
    _refuse_existing(Path(trained_file), overwrite)
    with safe_open(os.fspath(weights_path), framework="pt") as f:
        target = (f.metadata() or {}).get(_TARGET_KEY, "qkv")
        peft_tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    cfg = _our_config(json.loads(config_path.read_text(encoding="utf-8")), os.fspath(config_path), target)
    tensors = from_peft_state_dict(peft_tensors, target)
    if all(k.endswith((_A, _B)) for k in tensors):
        raise PeftConversionError(f"{weights_path}: no trained classifier head; our files hold the head too "
                                  "(train the peft model with modules_to_save=['head'])")
    for key, t in tensors.items():
        if key.endswith(_A) and t.shape[1] != cfg.r:
            raise PeftConversionError(f"{key}: rank {t.shape[1]} differs from the config's r={cfg.r}")
    write_trained(trained_file, "lora", cfg, tensors, list(tensors))
    return Path(trained_file)
