"""VPT-specific checks: prompt placement and replacement, init bound, pooling without prompts, parameter counts."""

from __future__ import annotations

import math

import pytest
import timm
import torch
from torch import nn
from vpeft import methods

from tests.methods.conftest import VARIANTS, make_input, make_vit
from tests.methods.published import as_millions, published_vtab_params


def block_inputs(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The token sequence each block's norm1 sees (after VPT inserted / replaced prompts)."""
    seen: list[torch.Tensor] = []
    hooks = [b.norm1.register_forward_pre_hook(lambda _m, args: seen.append(args[0])) for b in model.blocks]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("method_id", ["vpt-shallow", "vpt-deep"])
def test_prompts_sit_after_prefix_tokens(method_id: str, variant: str) -> None:
    model = methods.apply(make_vit(variant), method_id, num_tokens=3).eval()
    p, n = model.num_prefix_tokens, 3
    n_patches = model.patch_embed.num_patches
    inputs = block_inputs(model, make_input(variant))
    assert all(t.shape[1] == p + n + n_patches for t in inputs)
    # block 0 sees its own prompts (no dropout in eval) right after the class/register tokens
    assert torch.equal(inputs[0][:, p : p + n], model.blocks[0].vpt_prompt.expand(2, -1, -1))
    for i, t in enumerate(inputs[1:], start=1):
        if method_id == "vpt-deep":  # each later block gets a fresh set replacing the previous block's outputs
            assert torch.equal(t[:, p : p + n], model.blocks[i].vpt_prompt.expand(2, -1, -1))
        else:  # shallow: later blocks see the processed prompts, and have no prompts of their own
            assert not hasattr(model.blocks[i], "vpt_prompt")
            assert not torch.equal(t[:, p : p + n], model.blocks[0].vpt_prompt.expand(2, -1, -1))


@pytest.mark.parametrize("variant", ["cls", "avgpool-no-cls", "reg-tokens"])
def test_prompts_do_not_reach_the_pooling(variant: str) -> None:
    model = methods.apply(make_vit(variant), "vpt-deep", num_tokens=4).eval()
    x = make_input(variant)
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape[1] == model.num_prefix_tokens + model.patch_embed.num_patches
        assert torch.equal(model.forward_head(feats), model(x))
        if variant == "avgpool-no-cls":  # the pooled vector is the mean over the image patches only
            assert torch.allclose(model.forward_head(feats, pre_logits=True), model.fc_norm(feats.mean(dim=1)))


def test_prompts_change_the_output() -> None:
    model = methods.apply(make_vit("avgpool-no-cls"), "vpt-shallow")
    x = make_input("avgpool-no-cls")
    with torch.no_grad():
        assert not torch.allclose(model(x), make_vit("avgpool-no-cls")(x))


@pytest.mark.parametrize("method_id", ["vpt-shallow", "vpt-deep"])
def test_official_uniform_init_bound(method_id: str) -> None:
    model = methods.apply(make_vit("patch4-img24"), method_id, num_tokens=200)
    dim, patch = VARIANTS["patch4-img24"]["embed_dim"], VARIANTS["patch4-img24"]["patch_size"]
    bound = math.sqrt(6.0 / (3 * patch * patch + dim))
    prompts = torch.stack([b.vpt_prompt for b in model.blocks if hasattr(b, "vpt_prompt")])
    assert prompts.abs().max() <= bound
    assert prompts.abs().max() > 0.9 * bound  # uniform over the whole range, not a narrower init
    assert abs(prompts.mean().item()) < 0.1 * bound


def test_deep_prompt_dropout_in_training_only() -> None:
    model = methods.apply(make_vit(), "vpt-deep", num_tokens=8, dropout=0.5)
    p = model.num_prefix_tokens
    model.train()
    train_in = block_inputs(model, make_input())[1][:, p : p + 8]
    assert (train_in == 0).any()
    model.eval()
    eval_in = block_inputs(model, make_input())[1][:, p : p + 8]
    assert torch.equal(eval_in, model.blocks[1].vpt_prompt.expand(2, -1, -1))


def test_attention_masks_are_refused() -> None:
    model = methods.apply(make_vit(), "vpt-shallow", num_tokens=2)
    with pytest.raises(ValueError, match="vpt: attention masks"):
        model(make_input(), is_causal=True)


def test_defaults_follow_sources() -> None:
    assert methods.make_config("vpt-shallow").model_dump() == {"num_tokens": 100, "dropout": 0.0}
    assert methods.make_config("vpt-deep").model_dump() == {"num_tokens": 50, "dropout": 0.0}  # demo.ipynb p=50


@pytest.mark.parametrize("method_id", ["vpt-shallow", "vpt-deep"])
def test_parameter_count_on_vit_base(method_id: str) -> None:
    with torch.device("meta"):
        model = timm.create_model("vit_base_patch16_224", pretrained=False)
        methods.apply(model, method_id)
    n = methods.make_config(method_id).num_tokens
    layers = len(model.blocks) if method_id == "vpt-deep" else 1
    assert methods.trainable_parameters(model) == layers * n * model.embed_dim


def test_shallow_default_matches_published_count() -> None:
    """V-PETL Bench VTAB-1k (catalog results): VPT-Shallow with prompt length 100, as its run script uses."""
    with torch.device("meta"):
        model = methods.apply(timm.create_model("vit_base_patch16_224", pretrained=False), "vpt-shallow")
    assert as_millions(methods.trainable_parameters(model)) == published_vtab_params("vpt-shallow")
