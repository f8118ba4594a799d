"""Behaviour of the options that reach the official settings (issue 11, item 1): per-example prompt dropout, LoRA
dropout in train mode only, and the init schemes ("official-reinit" = the timm re-initialisation NOAH, V-PETL Bench
and Mona's code run on every nn.Linear after building the model; LST's official N(0, 0.01^2))."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from vpeft import methods
from vpeft.methods.vpt import _prompt

from tests.methods.conftest import make_input, make_vit


def same_image_batch(n: int = 4) -> torch.Tensor:
    return make_input(batch=1).expand(n, -1, -1, -1).clone()


def assert_std(t: torch.Tensor, std: float) -> None:
    assert abs(t.float().std().item() - std) < 0.2 * std, f"std {t.std().item():.4f}, expected about {std}"
    assert abs(t.float().mean().item()) < 0.2 * std


# ---- VPT: one dropout mask per example ----


def test_vpt_prompt_dropout_mask_is_per_example_in_training() -> None:
    model = methods.apply(make_vit(), "vpt-deep", num_tokens=6, dropout=0.5)
    block = model.blocks[1]
    model.train()
    torch.manual_seed(0)
    prompts = _prompt(block, 4)
    masks = prompts == 0
    assert masks.any() and not masks.all()
    assert not all(torch.equal(masks[0], masks[i]) for i in range(1, 4)), "the whole batch shares one mask"
    model.eval()
    assert torch.equal(_prompt(block, 4), block.vpt_prompt.expand(4, -1, -1))


def test_vpt_identical_examples_differ_only_in_training() -> None:
    model = methods.apply(make_vit(), "vpt-deep", num_tokens=6, dropout=0.5)
    img = same_image_batch()
    with torch.no_grad():
        train_out = model.train()(img)
        eval_out = model.eval()(img)
    assert not torch.allclose(train_out[0], train_out[1])  # independent masks give different outputs
    assert torch.equal(eval_out[0], eval_out[1])


# ---- LoRA dropout: active in train mode, off in eval ----


def test_lora_dropout_is_active_in_training_and_off_in_eval() -> None:
    model = methods.apply(make_vit(), "lora", dropout=0.5, init="official-reinit")
    no_dropout = methods.apply(make_vit(), "lora", init="official-reinit")
    no_dropout.load_state_dict(model.state_dict())
    img = same_image_batch()
    with torch.no_grad():
        train_out = model.train()(img)
        eval_out = model.eval()(img)
        reference = no_dropout.eval()(img)
        reference_train = no_dropout.train()(img)
    assert not torch.allclose(train_out[0], train_out[1])  # masks differ between the identical examples
    assert not torch.allclose(train_out, eval_out)
    torch.testing.assert_close(eval_out, reference, atol=1e-6, rtol=0)  # eval: no dropout at all
    torch.testing.assert_close(reference_train, reference, atol=1e-6, rtol=0)  # dropout 0 is a no-op in training


def test_lora_dropout_sits_on_the_branch_input_only() -> None:
    layer = methods.apply(make_vit(), "lora", dropout=0.5).blocks[0].attn.qkv
    assert isinstance(layer.dropout, nn.Dropout) and layer.dropout.p == 0.5
    x = torch.randn(2, 5, layer.base_layer.in_features)
    layer.train()
    with torch.no_grad():  # B = 0 at the paper init: the dropped branch adds nothing, the frozen path is intact
        torch.testing.assert_close(layer(x), layer.base_layer(x))


# ---- init schemes ----


@pytest.mark.parametrize("target", ["qkv", "q,v"])
def test_lora_official_reinit_draws_a_and_b_from_n_0_002(target: str) -> None:
    paper = methods.apply(make_vit(), "lora", target=target)
    official = methods.apply(make_vit(), "lora", target=target, init="official-reinit")
    assert not methods.applied(official).method.identity_at_init()
    for blk_p, blk_o in zip(paper.blocks, official.blocks, strict=True):
        assert torch.count_nonzero(blk_p.attn.qkv.lora_B) == 0, "lora init='paper' (loralib/peft): B starts at zero"
        assert_std(blk_o.attn.qkv.lora_A, 0.02)
        assert_std(blk_o.attn.qkv.lora_B, 0.02)
    x = make_input()
    with torch.no_grad():
        assert not torch.allclose(official(x), make_vit()(x), atol=1e-4)


def test_adapter_official_reinit_and_noah_options() -> None:
    options = dict(init="official-reinit", act="quick_gelu", dropout=0.1)
    model = methods.apply(make_vit(), "adapter-houlsby", **options)
    weights = torch.cat([blk.adapter_houlsby_mlp.down.weight.flatten() for blk in model.blocks])
    ups = torch.cat([blk.adapter_houlsby_mlp.up.weight.flatten() for blk in model.blocks])
    assert_std(weights, 0.02)
    assert_std(ups, 0.02)
    for blk in model.blocks:
        bn = blk.adapter_houlsby_mlp
        assert torch.count_nonzero(bn.down.bias) == 0 and torch.count_nonzero(bn.up.bias) == 0
        assert isinstance(bn.dropout, nn.Dropout) and bn.dropout.p == 0.1
        h = torch.linspace(-3, 3, 7)
        torch.testing.assert_close(bn.act(h), h * torch.sigmoid(1.702 * h))  # QuickGELU


def test_adaptformer_official_reinit_makes_up_projection_non_zero() -> None:
    lora = methods.apply(make_vit(), "adaptformer")
    vpetl = methods.apply(make_vit(), "adaptformer", init="official-reinit", scale=1.0, layernorm="in")
    assert methods.applied(lora).method.identity_at_init()
    assert not methods.applied(vpetl).method.identity_at_init()
    up = torch.cat([blk.adaptformer.bottleneck.up.weight.flatten() for blk in vpetl.blocks])
    assert_std(up, 0.02)
    nonzero_up = [i for i, blk in enumerate(lora.blocks) if torch.count_nonzero(blk.adaptformer.bottleneck.up.weight)]
    assert nonzero_up == [], f"adaptformer default init: up-projection must start at zero (blocks {nonzero_up})"
    nonzero_bias = [i for i, b in enumerate(vpetl.blocks) if torch.count_nonzero(b.adaptformer.bottleneck.down.bias)]
    assert nonzero_bias == [], f"adaptformer official-reinit: down bias must start at zero (blocks {nonzero_bias})"


def test_mona_default_init_is_the_official_reinit() -> None:
    official = methods.apply(make_vit(), "mona")
    torch_init = methods.apply(make_vit(), "mona", init="torch")
    for name in ("mona_attn", "mona_mlp"):
        downs = torch.cat([getattr(b, name).bottleneck.down.weight.flatten() for b in official.blocks])
        ups = torch.cat([getattr(b, name).bottleneck.up.weight.flatten() for b in official.blocks])
        assert_std(downs, 0.02)
        assert_std(ups, 0.02)
        for blk in official.blocks:
            bn = getattr(blk, name).bottleneck
            assert torch.count_nonzero(bn.down.bias) == 0 and torch.count_nonzero(bn.up.bias) == 0
        assert torch.count_nonzero(getattr(torch_init.blocks[0], name).bottleneck.up.bias) > 0  # PyTorch default


def test_lst_ladders_and_projections_start_at_n_0_001_with_zero_bias() -> None:
    side = methods.apply(make_vit(), "lst").lst_side
    linears = [side.first_down, *side.downs, side.up]
    assert_std(torch.cat([lin.weight.flatten() for lin in linears]), 0.01)
    assert all(torch.count_nonzero(lin.bias) == 0 for lin in linears), "lst official init: every side bias is 0"
    torch_side = methods.apply(make_vit(), "lst", init="torch").lst_side
    assert torch.count_nonzero(torch_side.up.bias) > 0


def test_dtl_official_pooling_is_not_the_backbone_head_path() -> None:
    official = methods.apply(make_vit(), "dtl")
    backbone = methods.apply(make_vit(), "dtl", pool="backbone")
    x = make_input()
    with torch.no_grad():
        assert torch.equal(backbone(x), make_vit()(x))  # B = 0 and the backbone's own pooling: the backbone
        plain = make_vit()
        tokens = plain.blocks(plain.norm_pre(plain.patch_drop(plain._pos_embed(plain.patch_embed(x)))))
        torch.testing.assert_close(official(x), plain.head(plain.norm(tokens[:, 1:].mean(dim=1))))
    assert not methods.applied(official).method.identity_at_init()
