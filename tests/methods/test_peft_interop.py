"""Our LoRA against Hugging Face `peft` LoRA (issue 4, item 6): same outputs from the same weights, and our saved
weights convert to a peft adapter folder and back with one call each (`methods.peft_interop`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch
from peft import LoraConfig, PeftModel, get_peft_model, set_peft_model_state_dict
from torch import nn
from vpeft import methods
from vpeft.methods.peft_interop import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    PeftConversionError,
    from_peft,
    to_peft,
    to_peft_state_dict,
)

from tests.methods.conftest import make_input, make_vit


def randomize(model: nn.Module, seed: int = 3) -> None:
    """Give every trainable tensor random values (zero-initialised B would hide a wrong conversion)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


def ours(target: str = "qkv", alpha: float = 16.0, seed: int = 3) -> nn.Module:
    model = methods.apply(make_vit(), "lora", r=8, alpha=alpha, target=target)
    randomize(model, seed)
    return model.eval()


def peft_model(r: int = 8, alpha: float = 16.0, head: bool = True) -> nn.Module:
    config = LoraConfig(target_modules=["qkv"], r=r, lora_alpha=alpha, modules_to_save=["head"] if head else None)
    return get_peft_model(make_vit(), config).eval()


def outputs(model: nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(make_input())


def our_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def test_same_weights_same_outputs() -> None:
    """alpha != r, so a different scaling convention would show."""
    model = ours()
    theirs = peft_model()
    result = set_peft_model_state_dict(theirs, to_peft_state_dict(our_tensors(model)))
    assert not result.unexpected_keys
    assert not [k for k in result.missing_keys if "lora_" in k or "modules_to_save" in k]
    torch.testing.assert_close(outputs(theirs), outputs(model), rtol=0, atol=1e-6)
    assert not torch.allclose(outputs(model), outputs(make_vit()), atol=1e-3)  # LoRA and head did change the output


def test_same_on_a_timm_registered_vit() -> None:
    """The same on a model from timm's registry (vit_tiny, pretrained=False, small image for speed)."""
    torch.manual_seed(0)
    base = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, num_classes=3).eval()
    mine = methods.apply(_copy(base), "lora", r=8, alpha=8.0)
    randomize(mine)
    theirs = get_peft_model(_copy(base), LoraConfig(target_modules=["qkv"], r=8, modules_to_save=["head"])).eval()
    set_peft_model_state_dict(theirs, to_peft_state_dict(our_tensors(mine)))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), mine.eval()(x), rtol=0, atol=1e-6)


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


@pytest.mark.parametrize("target", ["qkv", "q,v"])
def test_ours_to_peft_folder(tmp_path: Path, target: str) -> None:
    model = ours(target)
    methods.save_trained(model, tmp_path / "lora.safetensors")
    folder = to_peft(tmp_path / "lora.safetensors", tmp_path / "adapter")
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert (config["r"], config["lora_alpha"]) == ((8, 16.0) if target == "qkv" else (16, 32.0))
    loaded = PeftModel.from_pretrained(make_vit(), folder).eval()
    torch.testing.assert_close(outputs(loaded), outputs(model), rtol=0, atol=1e-6)


@pytest.mark.parametrize("target", ["qkv", "q,v"])
def test_round_trip_restores_our_config_and_outputs(tmp_path: Path, target: str) -> None:
    model = ours(target)
    methods.save_trained(model, tmp_path / "a.safetensors")
    to_peft(tmp_path / "a.safetensors", tmp_path / "adapter")
    from_peft(tmp_path / "adapter", tmp_path / "b.safetensors")
    back = methods.load_trained(make_vit(), tmp_path / "b.safetensors")
    assert methods.applied(back).config == methods.applied(model).config  # type: ignore[union-attr]
    assert torch.equal(outputs(back), outputs(model))


def test_peft_folder_to_ours(tmp_path: Path) -> None:
    theirs = peft_model(alpha=4.0)
    randomize(theirs)
    theirs.save_pretrained(tmp_path / "adapter")
    from_peft(tmp_path / "adapter", tmp_path / "lora.safetensors")
    mine = methods.load_trained(make_vit(), tmp_path / "lora.safetensors")
    cfg = methods.applied(mine).config  # type: ignore[union-attr]
    assert (cfg.r, cfg.alpha, cfg.target) == (8, 4.0, "qkv")
    torch.testing.assert_close(outputs(mine), outputs(theirs), rtol=0, atol=1e-6)
    methods.merge(mine)  # and it merges like any of our LoRAs
    torch.testing.assert_close(outputs(mine), outputs(theirs), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (dict(use_dora=True), "use_dora=True has no counterpart"),
        (dict(use_rslora=True), "use_rslora=True has no counterpart"),
        (dict(target_modules=["qkv", "proj"]), "target_modules="),
        (dict(rank_pattern={"blocks.0.attn.qkv": 4}), "rank_pattern="),
    ],
)
def test_unconvertible_peft_settings_are_refused(tmp_path: Path, config: dict[str, object], message: str) -> None:
    theirs = get_peft_model(make_vit(), LoraConfig(r=8, modules_to_save=["head"], **{"target_modules": ["qkv"],
                                                                                       **config}))
    theirs.save_pretrained(tmp_path / "adapter")
    with pytest.raises(PeftConversionError, match=message):
        from_peft(tmp_path / "adapter", tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def test_adapter_without_head_is_refused(tmp_path: Path) -> None:
    peft_model(head=False).save_pretrained(tmp_path / "adapter")
    with pytest.raises(PeftConversionError, match="no trained classifier head"):
        from_peft(tmp_path / "adapter", tmp_path / "out.safetensors")


def test_other_methods_and_existing_files_are_refused(tmp_path: Path) -> None:
    methods.save_trained(methods.apply(make_vit(), "bitfit"), tmp_path / "bitfit.safetensors")
    with pytest.raises(PeftConversionError, match="only 'lora' converts"):
        to_peft(tmp_path / "bitfit.safetensors", tmp_path / "adapter")
    methods.save_trained(ours(), tmp_path / "lora.safetensors")
    to_peft(tmp_path / "lora.safetensors", tmp_path / "adapter")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        to_peft(tmp_path / "lora.safetensors", tmp_path / "adapter")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        from_peft(tmp_path / "adapter", tmp_path / "lora.safetensors")
    to_peft(tmp_path / "lora.safetensors", tmp_path / "adapter", overwrite=True)


def test_tampered_q_v_export_is_refused(tmp_path: Path) -> None:
    """A q,v export whose k rows became non-zero (e.g. trained further in peft) is no longer a q,v LoRA."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    methods.save_trained(ours("q,v"), tmp_path / "lora.safetensors")
    folder = to_peft(tmp_path / "lora.safetensors", tmp_path / "adapter")
    with safe_open(str(folder / WEIGHTS_FILE), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    key = next(k for k in tensors if k.endswith("lora_B.weight"))
    tensors[key][tensors[key].shape[0] // 2, 0] = 1.0
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata=meta)
    with pytest.raises(PeftConversionError, match="block layout"):
        from_peft(folder, tmp_path / "out.safetensors")
