"""Issue 13 item 3: the cheaper computations equal the previous ones (outputs and gradients) and keep no more
activation memory than full fine-tuning. Each previous computation is kept here as the reference."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from torch import nn
from vpeft import methods
from vpeft.methods import _vit
from vpeft.methods import convpass as convpass_module
from vpeft.methods import vpt as vpt_module
from vpeft.methods.glora import GLoRALinear
from vpeft.methods.layers import ScaleShift, token_grid
from vpeft.methods.layers.scale_shift import _ScaleShiftFn
from vpeft.methods.mona import MultiKernelConv

from tests.methods.conftest import make_input, make_vit
from tests.methods.equivalence import assert_same_function, output_and_grads, saved_bytes


def as_1x1_image(conv: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """The previous prefix-token path: each token through the conv stack as a zero-padded 1x1 image."""
    b, p, c = h.shape
    return conv(h.reshape(b * p, c, 1, 1)).reshape(b, p, -1)


# ---- Mona and Convpass: prefix tokens through the centre taps instead of the conv stack on a 1x1 image ----


@pytest.mark.parametrize("groups", [1, 6])
@pytest.mark.parametrize("kernel", [1, 3, 7])
def test_conv_centre_equals_the_conv_on_a_1x1_image(kernel: int, groups: int) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 6, kernel, padding=kernel // 2, groups=groups)
    h = torch.randn(2, 3, 6, requires_grad=True)
    got, want = token_grid.conv_centre(conv, h), as_1x1_image(conv, h)
    torch.testing.assert_close(got, want)
    g_ours = torch.autograd.grad(got.square().sum(), [h, conv.weight, conv.bias])
    g_ref = torch.autograd.grad(want.square().sum(), [h, conv.weight, conv.bias])
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a, b)


def test_conv_centre_refuses_convs_where_more_than_the_centre_reads_the_pixel() -> None:
    with pytest.raises(ValueError, match="same'-padded"):
        token_grid.conv_centre(nn.Conv2d(4, 4, 3, padding=0), torch.randn(1, 1, 4))
    with pytest.raises(ValueError, match="dense or depth-wise"):
        token_grid.conv_centre(nn.Conv2d(4, 4, 3, padding=1, groups=2), torch.randn(1, 1, 4))


def test_mona_stack_pointwise_equals_the_stack_on_1x1_images() -> None:
    torch.manual_seed(0)
    stack = MultiKernelConv(5, (3, 5, 7))
    h = torch.randn(2, 3, 5)
    torch.testing.assert_close(stack.pointwise(h), as_1x1_image(stack, h))


@pytest.mark.parametrize("variant", ["cls", "reg-tokens"])
def test_mona_model_equals_the_1x1_image_computation(variant: str) -> None:
    ours = methods.apply(make_vit(variant), "mona", dropout=0.0).train()
    with torch.no_grad():
        for p in ours.parameters():  # the up projection starts near zero; make the conv path matter
            p.add_(torch.randn_like(p) * 0.05)
    reference = copy.deepcopy(ours)
    for module in reference.modules():
        if isinstance(module, MultiKernelConv):
            module.pointwise = functools.partial(as_1x1_image, module)  # instance attribute: the previous path
    assert_same_function(ours, reference, make_input(variant))


def test_convpass_model_equals_the_1x1_image_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = methods.apply(make_vit("reg-tokens"), "convpass", dropout=0.0, xavier_init=True).train()
    with torch.no_grad():
        for block in ours.blocks:
            block.convpass_attn.up.weight.normal_(0, 0.3)
            block.convpass_mlp.up.weight.normal_(0, 0.3)
    reference = copy.deepcopy(ours)
    x = make_input("reg-tokens")
    out, grads = output_and_grads(ours, x)

    def previous(h: torch.Tensor, n_prefix: int, grid: tuple[int, int] | None, conv: nn.Module) -> torch.Tensor:
        return token_grid.conv_tokens(h, n_prefix, grid, conv, functools.partial(as_1x1_image, conv))

    monkeypatch.setattr(convpass_module, "conv_tokens", previous)
    ref_out, ref_grads = output_and_grads(reference, x)
    # The shared tolerance (atol 1e-5, rtol 1e-4): a bias gradient sums over every token, and the two paths add in
    # different orders, so float32 rounding differs by CPU (1e-5 relative on an AMD EPYC).
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-4)
    assert grads.keys() == ref_grads.keys() and grads
    for name, g in grads.items():
        torch.testing.assert_close(g, ref_grads[name], atol=1e-5, rtol=1e-4, msg=lambda m, n=name: f"grad {n}: {m}")


# ---- FacT-TK: all slice cores from one product per model forward instead of one per layer call ----


@pytest.mark.parametrize("layout", ["official", "per-slice"])
def test_fact_cores_built_once_equal_the_per_layer_cores(layout: str) -> None:
    ours = methods.apply(make_vit(), "fact", variant="tk", rank=4, scale=3.0, dropout=0.0, tk_layout=layout).train()
    with torch.no_grad():
        ours.fact_shared.v.normal_(0, 0.3)  # zero at init: the cores would get no gradient
    reference = copy.deepcopy(ours)
    _vit.restore_forward(reference)  # the previous path: every layer forms C x_3 P[:, cols] itself
    assert "forward" in ours.__dict__ and "forward" not in reference.__dict__
    built = ours.fact_shared.tk_cores_per_block(len(ours.blocks), ours.fact_ranges)
    for block in ours.blocks:
        for layer in (block.attn.qkv, block.attn.proj, block.mlp.fc1, block.mlp.fc2):
            index, cols = layer.fact_block_cols
            torch.testing.assert_close(
                built[layer.fact_kind][index, cols], ours.fact_shared.tk_cores(layer.fact_cols, layer.fact_kind)
            )
    assert_same_function(ours, reference, make_input())


def test_fact_cores_are_built_once_per_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    model = methods.apply(make_vit(), "fact").eval()
    calls = {"all": 0, "one": 0}
    shared = model.fact_shared
    for name, key in (("tk_cores_per_block", "all"), ("tk_cores", "one")):
        original = getattr(shared, name)
        monkeypatch.setattr(shared, name, lambda *a, f=original, k=key: calls.__setitem__(k, calls[k] + 1) or f(*a))
    with torch.no_grad():
        model(make_input())
    assert calls == {"all": 1, "one": 0}
    assert shared.__dict__.get("built") is None, "the per-forward cores must not outlive the forward"


# ---- GLoRA: no dense W' kept for backward, an elementwise / low-rank path where A is not "lora", eval cache ----


def previous_glora_forward(layer: GLoRALinear, x: torch.Tensor) -> torch.Tensor:
    """The previous forward: the dense W' and b' rebuilt by autograd-tracked ops on every call."""
    w, b = layer.weight_and_bias()
    return nn.functional.linear(x, w.to(x.dtype), None if b is None else b.to(x.dtype))


GLORA_OPTIONS = [
    {},
    {"d": "vector"},
    {"a": "vector", "b": "lora", "c": "vector", "e": "constant"},
    {"a": "constant", "b": "vector", "c": "none", "d": "constant", "e": "none"},
    {"a": "none", "b": "constant"},
]


def trained_looking_glora(options: dict[str, str]) -> nn.Module:
    model = methods.apply(make_vit(), "glora", **options).train()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "glora" in name:
                p.normal_(0, 0.1)  # the zero-initialised factors would hide a wrong path
    return model


@pytest.mark.parametrize("options", GLORA_OPTIONS)
def test_glora_equals_the_dense_rebuild(options: dict[str, str]) -> None:
    ours = trained_looking_glora(options)
    reference = copy.deepcopy(ours)
    for module in reference.modules():
        if isinstance(module, GLoRALinear):
            module.forward = functools.partial(previous_glora_forward, module)
    assert_same_function(ours, reference, make_input())


def test_glora_eval_cache_is_reused_and_invalidated() -> None:
    model = trained_looking_glora({}).eval()
    layer = model.blocks[0].attn.qkv
    x = make_input()
    with torch.no_grad():
        first = model(x)
        cached = layer._cache[1]
        assert torch.equal(model(x), first) and layer._cache[1] is cached, "eval forwards reuse the cached W'"
        torch.testing.assert_close(cached, layer.dense_weight())
        layer.glora_b.glora_down.add_(0.5)  # an in-place change, as an optimizer step makes
        changed = model(x)
    assert layer._cache[1] is not cached and not torch.allclose(changed, first), "a changed parameter rebuilds W'"
    model.train()
    assert layer._cache is None, "train() drops the cache"
    model.eval()
    with torch.no_grad():
        expected = model(x)
        methods.merge(model)
        torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=0)


# ---- SSF: scale-shift folded into LayerNorms, elsewhere backward from the output (no extra activation kept) ----


def previous_scale_shift(layer: ScaleShift, x: torch.Tensor) -> torch.Tensor:
    """The previous forward: `base(x) * scale + shift`, which keeps base(x) for the scale's gradient."""
    out = layer.base(x)
    shape = [1] * out.dim()
    shape[layer.channel_dim] = -1
    return out * layer.ssf_scale.view(shape) + layer.ssf_shift.view(shape)


@pytest.mark.parametrize("variant", ["cls", "avgpool-no-cls"])
def test_ssf_equals_the_plain_scale_shift(variant: str) -> None:
    ours = methods.apply(make_vit(variant), "ssf", init_std=0.3).train()
    reference = copy.deepcopy(ours)
    for module in reference.modules():
        if isinstance(module, ScaleShift):
            module.forward = functools.partial(previous_scale_shift, module)
    assert_same_function(ours, reference, make_input(variant))


def test_scale_shift_function_gradients() -> None:
    z = torch.randn(3, 4, 5, dtype=torch.double, requires_grad=True)
    s = (torch.rand(1, 1, 5, dtype=torch.double) + 0.5).requires_grad_()
    b = torch.randn(1, 1, 5, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(_ScaleShiftFn.apply, (z, s, b))
    channel_first = (torch.randn(2, 5, 3, 3, dtype=torch.double, requires_grad=True), s.view(1, 5, 1, 1),
                     b.view(1, 5, 1, 1))
    assert torch.autograd.gradcheck(_ScaleShiftFn.apply, channel_first)


def test_scale_shift_function_keeps_only_its_output() -> None:
    z = torch.randn(4, 6, requires_grad=True)
    s, b = torch.rand(1, 6, requires_grad=True), torch.randn(1, 6, requires_grad=True)
    kept: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: kept.append(t) or t, lambda t: t):
        y = _ScaleShiftFn.apply(z * 1.0, s, b)
    assert any(t is y for t in kept) and all(t.numel() <= y.numel() for t in kept)
    assert not any(t.untyped_storage().data_ptr() not in {y.untyped_storage().data_ptr(), s.untyped_storage(
    ).data_ptr(), b.untyped_storage().data_ptr()} for t in kept), "only y, scale and shift are kept"


# ---- activation memory: saved-tensor bytes of one train forward against full fine-tuning's ----


@pytest.mark.parametrize("method_id", ["ssf", "glora", "convpass"])
def test_saved_bytes_at_most_full_fine_tuning(method_id: str) -> None:
    x = make_input(batch=4)
    full = saved_bytes(methods.apply(make_vit(), "full").train(), x)
    ours = saved_bytes(methods.apply(make_vit(), method_id).train(), x)
    assert ours <= full, f"{method_id}: saved-tensor bytes {ours / full:.2f}x full fine-tuning's"


# ---- VPT: the last block drops the prompts after its attention instead of after its MLP ----


def previous_vpt_last_block(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The previous last block: the whole block on prompts too, then the prompts removed."""
    p, n = block.vpt_num_prefix, block.vpt_num_tokens
    if hasattr(block, "vpt_prompt"):
        keep = x[:, p:] if block.vpt_first else x[:, p + n :]
        x = torch.cat([x[:, :p], vpt_module._prompt(block, x.shape[0]), keep], dim=1)
    x = type(block).forward(block, x)
    return torch.cat([x[:, :p], x[:, p + n :]], dim=1)


@pytest.mark.parametrize("method_id", ["vpt-shallow", "vpt-deep"])
@pytest.mark.parametrize("variant", ["cls", "avgpool-no-cls"])
def test_vpt_last_block_equals_stripping_after_the_block(method_id: str, variant: str) -> None:
    ours = methods.apply(make_vit(variant), method_id, num_tokens=3).train()
    reference = copy.deepcopy(ours)
    last = reference.blocks[-1]
    last.forward = functools.partial(previous_vpt_last_block, last)
    assert_same_function(ours, reference, make_input(variant))
