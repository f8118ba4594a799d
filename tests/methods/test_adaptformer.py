"""AdaptFormer: parallel placement on the MLP, the scale, LayerNorm option and the published VTAB-1k count."""

from __future__ import annotations

import timm
import torch
from vpeft import methods

from tests.methods.conftest import make_input, make_vit
from tests.methods.hooks import recording
from tests.methods.published import as_millions, published_vtab_params, vit_b16_trainable


def test_default_count_matches_v_petl_bench() -> None:
    with torch.device("meta"):
        vit = timm.create_model("vit_base_patch16_224", pretrained=False)
    c, r = vit.embed_dim, methods.get("adaptformer").config().dim
    expected = len(vit.blocks) * (c * r + r + r * c + c)
    assert vit_b16_trainable("adaptformer") == expected
    assert as_millions(expected) == published_vtab_params("adaptformer")
    # V-PETL Bench's own code keeps an input LayerNorm: 2C more per block, which no longer prints as 0.16M
    with_norm = vit_b16_trainable("adaptformer", layernorm="in")
    assert with_norm == expected + len(vit.blocks) * 2 * c
    assert as_millions(with_norm) != published_vtab_params("adaptformer")


def test_adapter_reads_the_residual_stream_and_is_added_beside_the_mlp() -> None:
    model = methods.apply(make_vit(), "adaptformer")
    blk = model.blocks[0]
    with torch.no_grad():
        blk.adaptformer.bottleneck.up.weight.normal_()
    mods = {"block": blk, "norm2": blk.norm2, "mlp": blk.mlp, "adapter": blk.adaptformer}
    with torch.no_grad(), recording(mods) as seen:
        model(make_input())
    stream = seen["norm2"][0]  # x after the attention residual add
    assert torch.equal(seen["adapter"][0], stream)
    torch.testing.assert_close(seen["block"][1], stream + seen["mlp"][1] + seen["adapter"][1])


def test_scale_multiplies_the_branch() -> None:
    outs = []
    for scale in (0.1, 0.2):
        model = methods.apply(make_vit(), "adaptformer", scale=scale)
        torch.manual_seed(3)
        with torch.no_grad():
            model.blocks[0].adaptformer.bottleneck.up.weight.normal_()
            h = model.blocks[0].adaptformer(torch.randn(2, 5, 48))
        outs.append(h)
    torch.testing.assert_close(outs[1], 2 * outs[0])


def test_learnable_scale_is_trained() -> None:
    model = methods.apply(make_vit(), "adaptformer", learnable_scale=True)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "blocks.0.adaptformer.bottleneck.scale" in names
