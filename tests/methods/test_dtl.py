"""DTL: count, where the side network is added, and its running sum of low-rank projections."""

from __future__ import annotations

import timm
import torch
from timm.models.vision_transformer import Block

import methods
from tests.methods.conftest import make_input, make_vit
from tests.methods.hooks import recording
from tests.methods.published import as_millions, published_vtab_params, vit_b16_trainable


def test_default_count_matches_v_petl_bench() -> None:
    with torch.device("meta"):
        vit = timm.create_model("vit_base_patch16_224", pretrained=False)
    r = methods.get("dtl").config().r
    expected = len(vit.blocks) * 2 * vit.embed_dim * r  # A (r x C) and B (C x r) per block, no biases
    assert vit_b16_trainable("dtl") == expected
    assert as_millions(expected) == published_vtab_params("dtl")


def trained_dtl(**options: object) -> torch.nn.Module:
    model = methods.apply(make_vit("patch4-img24"), "dtl", **options)
    torch.manual_seed(1)
    with torch.no_grad():
        for blk in model.blocks:
            blk.dtl_side.dtl_B.normal_()
    return model


def test_side_sum_is_added_from_add_from_on() -> None:
    model = trained_dtl(beta=2.0)  # depth 3: add_from = 1
    blocks = {f"b{i}": b for i, b in enumerate(model.blocks)}
    with torch.no_grad(), recording(blocks) as seen:
        model(make_input("patch4-img24"))
    h = torch.zeros(())
    for i, blk in enumerate(model.blocks):
        x_in, out = seen[f"b{i}"]
        h = h + blk.dtl_side(x_in)
        plain = Block.forward(blk, x_in)
        expected = plain if i < 1 else plain + h * torch.sigmoid(2.0 * h)
        torch.testing.assert_close(out, expected)


def test_blocks_called_one_by_one_give_the_same_output() -> None:
    model = trained_dtl()
    x = model.norm_pre(model._pos_embed(model.patch_embed(make_input("patch4-img24"))))
    with torch.no_grad():
        together = model.blocks(x)
        y = x
        for blk in model.blocks:
            y = blk(y, attn_mask=None)
    assert torch.equal(together, y)
