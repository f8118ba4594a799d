"""The public operations of `vpeft.methods` as a user calls them: apply, count, merge, save and load, and the
errors a user gets when a call cannot work (each names the method, option, file or tensor, and what to do)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from vpeft import methods
from vpeft.methods.api import applied, make_config, read_trained
from vpeft.methods.base import Method, MethodConfig, NotMergeableError, UnsupportedModelError
from vpeft.methods.registry import get

from tests.methods.conftest import make_input, make_vit


def head_size(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.head.parameters())


def test_apply_freezes_the_backbone_and_trains_the_method_and_head() -> None:
    model = methods.apply(make_vit(), "lora", r=2, alpha=2)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable, "lora: nothing trainable after apply"
    assert all("lora_" in n or n.startswith("head.") for n in trainable), (
        f"only LoRA factors and the head may train after apply; also trainable: "
        f"{sorted(n for n in trainable if 'lora_' not in n and not n.startswith('head.'))}")
    assert {"head.weight", "head.bias"} <= trainable, "the classifier head stays trainable"
    lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    assert methods.trainable_parameters(model) == lora, "the count excludes the head by default"
    assert methods.trainable_parameters(model, include_head=True) == lora + head_size(model)
    state = applied(model)
    assert state is not None and state.method_id == "lora" and state.config == make_config("lora", r=2, alpha=2)


def test_trainable_parameters_counts_a_shared_parameter_once() -> None:
    model = make_vit().requires_grad_(False)
    shared = torch.nn.Parameter(torch.zeros(7))
    model.blocks[0].extra = torch.nn.ParameterList([shared])
    model.blocks[1].extra = torch.nn.ParameterList([shared])
    assert methods.trainable_parameters(model) == 7, "one tensor used in two places is 7 parameters, not 14"


def test_apply_keeps_the_models_mode() -> None:
    model = methods.apply(make_vit().eval(), "adaptformer")
    assert not any(m.training for m in model.modules()), "an eval-mode model must stay in eval mode after apply"
    train = methods.apply(make_vit().train(), "adaptformer")
    stuck = [name for name, m in train.named_modules() if not m.training]
    assert stuck == [], f"methods.apply on a train-mode model left these modules in eval mode: {stuck}"


def test_apply_twice_names_the_method_already_applied() -> None:
    model = methods.apply(make_vit(), "bitfit")
    with pytest.raises(ValueError, match=r"method 'bitfit' is already applied to this model; merge it or start"):
        methods.apply(model, "lora")


def test_config_errors_name_the_method_and_the_allowed_options() -> None:
    with pytest.raises(ValueError, match=r"unknown option\(s\) rank, zzz for method 'lora'; allowed: r, alpha, "):
        make_config("lora", rank=4, zzz=1)
    with pytest.raises(ValueError, match=r"for method 'bitfit'; allowed: \(none\)"):
        make_config("bitfit", r=1)
    lora_cfg = make_config("lora", r=3)
    with pytest.raises(TypeError, match="either a config object or keyword options, not both"):
        make_config("lora", lora_cfg, r=4)
    with pytest.raises(TypeError, match=r"config for 'ssf' must be SSFConfig, got LoRAConfig|config for 'ssf' must be"):
        make_config("ssf", lora_cfg)
    assert make_config("lora", lora_cfg) is lora_cfg, "a config object of the right type is used as it is"


def test_merge_gives_the_plain_backbone_computing_the_same_function() -> None:
    model = methods.apply(make_vit(), "lora", r=2, alpha=4)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.1)  # a trained, non-zero delta
    x = make_input()
    before = model(x)
    merged = methods.merge(model)
    assert applied(merged) is None, "a merged model is a plain backbone again"
    assert set(merged.state_dict()) == set(make_vit().state_dict()), "exactly the backbone's tensors remain"
    assert torch.allclose(merged(x), before, atol=1e-5), "merging must not change the outputs"


def test_merge_errors_say_what_to_do() -> None:
    with pytest.raises(ValueError, match=r"cannot merge: no method has been applied to this model \(use methods"):
        methods.merge(make_vit())
    with pytest.raises(NotMergeableError, match=r"method 'vpt-deep' cannot be merged .*mergeable methods: .*bitfit"):
        methods.merge(methods.apply(make_vit(), "vpt-deep"))


def test_save_and_load_restore_the_trained_model(tmp_path: Path) -> None:
    model = methods.apply(make_vit(), "lora", r=2, alpha=4)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.normal_(std=0.1)
    path = tmp_path / "lora.safetensors"
    methods.save_trained(model, path)
    method_id, config, tensors = read_trained(path)
    assert (method_id, config) == ("lora", make_config("lora", r=2, alpha=4))
    assert set(tensors) == {n for n, p in model.named_parameters() if p.requires_grad}, "method tensors and head"
    fresh = methods.load_trained(make_vit(), path)
    x = make_input()
    assert torch.allclose(fresh(x), model(x)), "a fresh backbone + the file computes what the trained model did"
    again = methods.load_trained(fresh, path)
    assert again is fresh, "loading onto a model with the same method and config reuses it"


def test_load_errors_name_the_file_or_tensor(tmp_path: Path) -> None:
    path = tmp_path / "lora.safetensors"
    methods.save_trained(methods.apply(make_vit(), "lora", r=2), path)
    with pytest.raises(ValueError, match=r"the file holds 'lora' with .* but the model has 'lora' with"):
        methods.load_trained(methods.apply(make_vit(), "lora", r=4), path)
    wrong_classes = make_vit("patch4-img24")
    with pytest.raises(ValueError, match=r"(file has shape|do not match the model)"):
        methods.load_trained(wrong_classes, path)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(1)}, str(plain))
    with pytest.raises(ValueError, match=r"plain.safetensors' was not written by methods.save_trained"):
        methods.load_trained(make_vit(), plain)
    with pytest.raises(ValueError, match=r"cannot save: no method has been applied"):
        methods.save_trained(make_vit(), tmp_path / "x.safetensors")


def test_load_reports_missing_and_unexpected_tensors(tmp_path: Path) -> None:
    model = methods.apply(make_vit(), "bitfit")
    path = tmp_path / "bitfit.safetensors"
    methods.save_trained(model, path)
    _, config, tensors = read_trained(path)
    tensors.pop("head.bias")
    tensors["stray"] = torch.zeros(1)
    broken = tmp_path / "broken.safetensors"
    methods.api.write_trained(broken, "bitfit", config, tensors, [])
    with pytest.raises(ValueError, match=r"missing \['head.bias'\], unexpected \['stray'\]"):
        methods.load_trained(make_vit(), broken)


def test_head_shape_mismatch_names_the_tensor_and_the_likely_cause(tmp_path: Path) -> None:
    path = tmp_path / "bitfit.safetensors"
    methods.save_trained(methods.apply(make_vit(), "bitfit"), path)
    other = make_vit()
    other.reset_classifier(7)
    with pytest.raises(ValueError, match=r"head\.\w+: file has shape \(5.*\), model has \(7.*\(different backbone or"):
        methods.load_trained(other, path)


def test_a_file_with_more_classes_than_the_model_is_refused_with_the_same_message(tmp_path: Path) -> None:
    """The other direction: trained for 7 classes, loaded onto a 5-class head (not a torch broadcasting error)."""
    trained = make_vit()
    trained.reset_classifier(7)
    path = tmp_path / "bitfit7.safetensors"
    methods.save_trained(methods.apply(trained, "bitfit"), path)
    with pytest.raises(ValueError, match=r"head\.\w+: file has shape \(7.*\), model has \(5.*\(different backbone or"):
        methods.load_trained(make_vit(), path)


# ---------------------------------------------------------------- base classes


def test_method_config_lists_options_in_order_and_refuses_unknown_keys() -> None:
    cfg_type = get("lora").config
    assert cfg_type.options() == list(cfg_type.model_fields), "options() lists every field"
    assert cfg_type.options()[:4] == ["r", "alpha", "dropout", "target"], "in declaration order"
    cfg = cfg_type(r=4)
    assert '"r":4' in cfg.to_json().replace(" ", "")
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        cfg_type(r=4, zzz=1)
    with pytest.raises(Exception, match="frozen"):
        cfg.r = 5  # type: ignore[misc]


def test_the_default_hooks_of_a_method() -> None:
    lora = get("lora").make(make_config("lora"))
    assert lora.owns("blocks.0.attn.qkv.lora_A") and not lora.owns("blocks.0.attn.qkv.weight")
    assert lora.identity_at_init() is True and get("ssf").make(make_config("ssf")).identity_at_init() is False
    assert lora.extra_state(make_vit()) == {}
    with pytest.raises(UnsupportedModelError, match="lora"):
        lora.check_model(torch.nn.Linear(2, 2))

    class Bare(Method):
        spec = get("bitfit")

    with pytest.raises(NotMergeableError, match=r"method 'bitfit' cannot be merged into the backbone weights"):
        Bare(MethodConfig()).merge(make_vit())
    with pytest.raises(NotImplementedError):
        Bare(MethodConfig()).apply(make_vit())
