"""The shared test matrix: every registered method gets these tests by registering (issue 4, item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from vpeft import methods
from vpeft.methods import _vit
from vpeft.methods.base import NotMergeableError, UnsupportedModelError

from tests.methods.conftest import (
    FAMILY_MODELS,
    VARIANTS,
    VIT_ARCHITECTURES,
    make_architecture,
    make_family_model,
    make_input,
    make_vit,
)

ALL = methods.available()
MERGEABLE = [m for m in ALL if methods.get(m).mergeable]
NOT_MERGEABLE = [m for m in ALL if not methods.get(m).mergeable]


def applied_vit(method_id: str, variant: str = "cls") -> nn.Module:
    return methods.apply(make_vit(variant), method_id, **methods.get(method_id).cls.tiny_model_options())


def train_steps(model: nn.Module, variant: str = "cls", steps: int = 3, lr: float = 1e-2) -> None:
    """A few Adam steps on random data so every method parameter moves away from its initial value."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    x = make_input(variant, batch=4, seed=2)
    y = torch.arange(4) % model.num_classes
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()


def structure(model: nn.Module) -> list[tuple[str, type]]:
    return [(name, type(m)) for name, m in model.named_modules()]


def test_enough_methods_registered() -> None:
    assert "lora" in ALL, f"the methods registry lists {ALL}: is methods/lora.py still registered?"


@pytest.mark.parametrize("method_id", ALL)
def test_spec_and_default_config(method_id: str) -> None:
    spec = methods.get(method_id)
    cfg = spec.config()
    assert spec.id == method_id and spec.prefix, f"{method_id}: register() needs its own id and a parameter prefix"
    with pytest.raises(Exception, match="frozen"):
        setattr(cfg, next(iter(spec.config.model_fields), "x"), None)


@pytest.mark.parametrize("method_id", ALL)
def test_only_intended_parameters_trainable(method_id: str) -> None:
    model = applied_vit(method_id)
    method = methods.applied(model).method
    head = {n for n, p in model.named_parameters() if id(p) in {id(q) for q in model.head.parameters()}}
    owned = {n for n, _ in model.named_parameters() if method.owns(n)}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == owned | head, (
        f"{method_id}: trainable but not owned by the method (check owns() or freeze them): "
        f"{sorted(trainable - owned - head)}; owned but frozen: {sorted((owned | head) - trainable)}")
    expected = sum(p.numel() for n, p in model.named_parameters() if n in owned and n not in head)
    assert methods.trainable_parameters(model) == expected, f"{method_id}: trainable_parameters() miscounts"
    assert methods.trainable_parameters(model, include_head=True) == expected + sum(
        p.numel() for p in model.head.parameters()
    ), f"{method_id}: trainable_parameters(include_head=True) must add the head once"


@pytest.mark.parametrize("method_id", ALL)
def test_all_trainable_parameters_receive_gradients(method_id: str) -> None:
    model = applied_vit(method_id).train()
    model(make_input()).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{method_id}: no gradient reached {missing}; are they used in forward()?"
    frozen_with_grad = [n for n, p in model.named_parameters() if not p.requires_grad and p.grad is not None]
    assert not frozen_with_grad, f"{method_id}: frozen parameters got gradients: {frozen_with_grad}"


@pytest.mark.parametrize("method_id", ALL)
def test_all_trainable_parameters_move_when_trained(method_id: str) -> None:
    model = applied_vit(method_id)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    train_steps(model)
    still = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(p, before[n])]
    assert not still, f"{method_id}: parameters unchanged after training (not reached by the loss?): {still}"


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("method_id", ALL)
def test_identity_at_init(method_id: str, variant: str) -> None:
    model = applied_vit(method_id, variant)
    if not methods.applied(model).method.identity_at_init():
        pytest.skip(f"{method_id} does not start as the identity")
    x = make_input(variant)
    with torch.no_grad():
        assert torch.equal(model(x), make_vit(variant)(x)), (
            f"{method_id} on {variant}: registered identity_at_init=True but the applied model changes the "
            "output at init; fix the init or register identity_at_init=False")


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("method_id", MERGEABLE)
def test_merge_after_training(method_id: str, variant: str) -> None:
    model = applied_vit(method_id, variant)
    train_steps(model, variant)
    x = make_input(variant)
    with torch.no_grad():
        before = model(x)
        methods.merge(model)
        after = model(x)
    moved = (before - make_vit(variant)(x)).abs().max().item()
    # The tolerance allows float32 rounding, which differs between CPUs (FourierFT's inverse FFT moved 2e-5 on an
    # AMD EPYC); training must move the output far beyond it, or a wrong merge could hide under it.
    assert moved > 1e-3, f"{method_id} on {variant}: training moved the output by only {moved:.2e}"
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)
    fresh = make_vit(variant)
    assert list(model.state_dict()) == list(fresh.state_dict()), (
        f"{method_id}: merge() must leave exactly the backbone's tensors; extra: "
        f"{sorted(set(model.state_dict()) - set(fresh.state_dict()))}")
    assert structure(model) == structure(fresh), f"{method_id}: merge() must restore the backbone's modules"
    for name, mod in model.named_modules():
        assert "forward" not in mod.__dict__, f"{name} keeps a forward override after merge"
        assert not (mod._forward_hooks or mod._forward_pre_hooks), f"{name} keeps hooks after merge"
    assert methods.applied(model) is None, f"{method_id}: a merged model must not keep the applied state"


@pytest.mark.parametrize("method_id", NOT_MERGEABLE)
def test_merge_refused(method_id: str) -> None:
    with pytest.raises(NotMergeableError, match=f"{method_id!r} cannot be merged"):
        methods.merge(applied_vit(method_id))


@pytest.mark.parametrize("method_id", ALL)
def test_save_load_round_trip(method_id: str, tmp_path: Path) -> None:
    model = applied_vit(method_id)
    train_steps(model)
    path = tmp_path / "trained.safetensors"
    methods.save_trained(model, path)
    saved_id, cfg, tensors = methods.read_trained(path)
    assert saved_id == method_id and cfg == methods.applied(model).config, f"{method_id}: metadata did not round-trip"
    assert set(tensors) >= {n for n, p in model.named_parameters() if p.requires_grad}, (
        f"{method_id}: save_trained() left out trainable tensors")
    restored = methods.load_trained(make_vit(), path)
    x = make_input()
    with torch.no_grad():
        assert torch.equal(restored(x), model(x)), (
            f"{method_id}: a fresh backbone + the saved file computes differently; is a buffer missing from "
            "extra_state()?")


@pytest.mark.parametrize("method_id", ALL)
def test_bf16_autocast(method_id: str) -> None:
    model = applied_vit(method_id).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(make_input())
    assert out.shape == (2, VARIANTS["cls"]["num_classes"]) and torch.isfinite(out.float()).all()
    out.float().sum().backward()


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("method_id", ALL)
def test_backbone_variants_forward_backward(method_id: str, variant: str) -> None:
    model = applied_vit(method_id, variant).train()
    out = model(make_input(variant))
    assert out.shape == (2, VARIANTS[variant]["num_classes"])
    out.sum().backward()


@pytest.mark.parametrize("method_id", ALL)
def test_unknown_option_is_a_clear_error(method_id: str) -> None:
    with pytest.raises(ValueError, match=r"unknown option\(s\) no_such_option .*allowed"):
        methods.apply(make_vit(), method_id, no_such_option=1)


@pytest.mark.parametrize("method_id", ALL)
def test_unsupported_model_is_a_clear_error(method_id: str) -> None:
    model = nn.Sequential(nn.Linear(4, 4))
    with pytest.raises(UnsupportedModelError, match="supported"):
        methods.apply(model, method_id)
    assert all(p.requires_grad for p in model.parameters()), "a refused apply must leave the model untouched"


@pytest.mark.parametrize("method_id", ALL)
def test_apply_twice_is_refused(method_id: str) -> None:
    model = applied_vit(method_id)
    with pytest.raises(ValueError, match="already applied"):
        methods.apply(model, method_id)


def test_unknown_method_names_the_available_ones() -> None:
    with pytest.raises(ValueError, match="available: .*lora"):
        methods.apply(make_vit(), "no-such-method")


# -- backbone families (issue 14, item 3) --------------------------------------------------------------------------
# Each method runs on a tiny model of every family it declares (`register(..., families=...)`); a family it does
# not declare is refused with one message. Core properties only, to keep the matrix fast.

FAMILY_PAIRS = [(m, f) for m in ALL for f in methods.get(m).families if f != "vit"]
VIT_NATIVE = [m for m in ALL if "vit" in methods.get(m).families and not methods.get(m).cls.requires]


def _applied_family(method_id: str, family: str) -> nn.Module:
    options = methods.get(method_id).cls.tiny_model_options()
    if family == "convnext" and methods.get(method_id).cls.requires:
        options = {**options, "target": "fc1"}  # peft tuners on ConvNeXt: its blocks have no attention (qkv)
    return methods.apply(make_family_model(family), method_id, **options)


def _assert_trainable_is_owned(model: nn.Module, label: str) -> None:
    method = methods.applied(model).method
    head_ids = {id(p) for h in _vit.heads(model) for p in h.parameters()}
    head = {n for n, p in model.named_parameters() if id(p) in head_ids}
    owned = {n for n, _ in model.named_parameters() if method.owns(n)} - head
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert owned, f"{label}: the method trains nothing"
    assert trainable == owned | head, (
        f"{label}: trainable but not owned: {sorted(trainable - owned - head)}; owned but frozen: "
        f"{sorted((owned | head) - trainable)}")
    expected = sum(p.numel() for n, p in model.named_parameters() if n in owned)
    assert methods.trainable_parameters(model) == expected, f"{label}: trainable_parameters() miscounts"


def _assert_gradients(model: nn.Module, x: torch.Tensor, label: str) -> None:
    model.train()
    model(x).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{label}: no gradient reached {missing}"
    model.zero_grad(set_to_none=True)
    model.eval()


@pytest.mark.parametrize(("method_id", "family"), FAMILY_PAIRS)
def test_family_core_properties(method_id: str, family: str, tmp_path: Path) -> None:
    label = f"{method_id} on {family}"
    model, x = _applied_family(method_id, family), make_input(family)
    method = methods.applied(model).method
    _assert_trainable_is_owned(model, label)
    if method.identity_at_init():
        with torch.no_grad():
            assert torch.equal(model(x), make_family_model(family)(x)), f"{label}: not the backbone at init"
    _assert_gradients(model, x, label)
    if methods.get(method_id).cls.requires:
        return  # a bridged peft tuner: peft's own training, saving and merging code is run on ViTs above
    train_steps(model, family)
    with torch.no_grad():
        before = model(x)
    assert not torch.equal(before, make_family_model(family)(x)), f"{label}: training left the model unchanged"
    methods.save_trained(model, tmp_path / "t.safetensors")
    with torch.no_grad():
        assert torch.equal(methods.load_trained(make_family_model(family), tmp_path / "t.safetensors")(x), before)
    if not methods.get(method_id).mergeable:
        return
    if family in method.unmergeable_families:
        with pytest.raises(NotMergeableError, match="cannot merge"):
            methods.merge(model)
        return
    with torch.no_grad():
        torch.testing.assert_close(methods.merge(model)(x), before, atol=1e-5, rtol=0)
    fresh = make_family_model(family)
    assert list(model.state_dict()) == list(fresh.state_dict()), f"{label}: merge() left extra tensors"
    assert structure(model) == structure(fresh), f"{label}: merge() must restore the backbone's modules"


@pytest.mark.parametrize("method_id", ALL)
def test_undeclared_family_is_refused_in_one_message(method_id: str) -> None:
    spec = methods.get(method_id)
    family = next((f for f in FAMILY_MODELS if f not in spec.families), None)
    if family is None:
        pytest.skip(f"{method_id} declares every family")
    model = make_family_model(family)
    pattern = rf"method '{method_id}' does not support family '{family}' .*supported families: {spec.families[0]}"
    with pytest.raises(UnsupportedModelError, match=pattern):
        methods.apply(model, method_id)
    assert all(p.requires_grad for p in model.parameters()), "a refused apply must leave the model untouched"


@pytest.mark.parametrize("method_id", VIT_NATIVE)
def test_vit_checkpoint_architectures(method_id: str) -> None:
    """CLIP's pre-norm ViT, DINOv2 (LayerScale, 4 registers), MAE-style (avg pool + fc_norm): apply, identity at
    init where declared, every trainable parameter reached by the loss. Native methods only: a bridged peft tuner
    wraps the block linears, which these architectures leave as they are (nn.Linear of the same shapes); what
    differs (pre-norm, LayerScale, registers, pooling) is outside the layers peft touches."""
    for arch in VIT_ARCHITECTURES:
        model = methods.apply(make_architecture(arch), method_id, **methods.get(method_id).cls.tiny_model_options())
        x, label = make_input(arch), f"{method_id} on a tiny {arch} ViT"
        if methods.applied(model).method.identity_at_init():
            with torch.no_grad():
                assert torch.equal(model(x), make_architecture(arch)(x)), f"{label}: not the backbone at init"
        _assert_gradients(model, x, label)
