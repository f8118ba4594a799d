"""Houlsby adapter: placement, options and the published VTAB-1k count."""

from __future__ import annotations

import timm
import torch
from vpeft import methods

from tests.methods.conftest import make_input, make_vit
from tests.methods.hooks import recording
from tests.methods.published import as_millions, published_vtab_params, vit_b16_trainable


def adapter_count(depth: int, dim: int, hidden: int, per_block: int) -> int:
    return depth * per_block * (dim * hidden + hidden + hidden * dim + dim)


def test_default_count_matches_v_petl_bench() -> None:
    with torch.device("meta"):
        vit = timm.create_model("vit_base_patch16_224", pretrained=False)
    expected = adapter_count(len(vit.blocks), vit.embed_dim, methods.get("adapter-houlsby").config().dim, 1)
    assert vit_b16_trainable("adapter-houlsby") == expected
    assert as_millions(expected) == published_vtab_params("adapter-houlsby")


def test_paper_placement_doubles_the_adapters_and_train_norms_adds_the_block_norms() -> None:
    base = vit_b16_trainable("adapter-houlsby")
    assert vit_b16_trainable("adapter-houlsby", placement="both") == 2 * base
    assert vit_b16_trainable("adapter-houlsby", train_norms=True) == base + 12 * 4 * 768


def test_train_norms_trains_and_owns_exactly_the_block_norms() -> None:
    model = methods.apply(make_vit(), "adapter-houlsby", train_norms=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    norms = {f"blocks.{i}.norm{j}.{w}" for i in range(2) for j in (1, 2) for w in ("weight", "bias")}
    assert norms <= trainable, f"adapter-houlsby train_norms=True: block norms not trainable: {norms - trainable}"
    assert "norm.weight" not in trainable, "train_norms trains the block norms only, not the final norm"
    model(make_input()).sum().backward()
    no_grad = sorted(n for n in norms if model.get_parameter(n).grad is None)
    assert no_grad == [], f"adapter-houlsby: trainable norms without a gradient (not on the forward path): {no_grad}"


def test_adapter_reads_the_mlp_output_and_the_attention_output() -> None:
    model = methods.apply(make_vit(), "adapter-houlsby", placement="both")
    blk = model.blocks[1]
    mods = {"mlp": blk.mlp, "ad_mlp": blk.adapter_houlsby_mlp}
    mods |= {"proj": blk.attn.proj, "ad_attn": blk.adapter_houlsby_attn}
    with torch.no_grad(), recording(mods) as seen:
        model(make_input())
    assert torch.equal(seen["ad_mlp"][0], seen["mlp"][1])  # no LayerScale in the tiny ViT: ls2 is Identity
    assert torch.equal(seen["ad_attn"][0], seen["proj"][1])


def test_houlsby_init_is_near_identity_and_zero_up_is_exact() -> None:
    x = make_input()
    with torch.no_grad():
        plain = make_vit()(x)
        near = methods.apply(make_vit(), "adapter-houlsby")(x)
        exact = methods.apply(make_vit(), "adapter-houlsby", init="zero_up")(x)
    assert torch.equal(exact, plain)
    assert not torch.equal(near, plain)
    torch.testing.assert_close(near, plain, atol=1e-2, rtol=0)
