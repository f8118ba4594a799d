"""Pfeiffer adapter: placement (reads the stream after the MLP's residual add), width, init and the ViT-B/16 count."""

from __future__ import annotations

import pytest
import torch
from vpeft import methods

from tests.methods.conftest import make_input, make_vit
from tests.methods.hooks import recording
from tests.methods.published import vit_b16_trainable


def test_count_on_vit_b16_is_one_width_48_adapter_per_block() -> None:
    # reduction_factor 16 on width 768 -> 48 (adapters' SeqBnConfig); 12 blocks, one output adapter each
    hidden = 768 // 16
    assert vit_b16_trainable("adapter-pfeiffer") == 12 * (768 * hidden + hidden + hidden * 768 + 768) == 894_528
    assert vit_b16_trainable("adapter-pfeiffer", dim=8) == 12 * (768 * 8 + 8 + 8 * 768 + 768)


def test_adapter_reads_the_stream_after_the_mlp_add_and_keeps_its_skip() -> None:
    """x_out = x + h + a(x + h), h the MLP branch (adapters' original_ln_before / residual_before_ln, no LN)."""
    model = methods.apply(make_vit(), "adapter-pfeiffer")
    blk = model.blocks[1]
    with torch.no_grad(), recording({"mlp": blk.mlp, "ad": blk.adapter_pfeiffer, "blk": blk, "n2": blk.norm2}) as seen:
        model(make_input())
    x_mid = seen["n2"][0]  # the stream after attention, which norm2 reads
    h = seen["mlp"][1]  # no LayerScale / drop-path in eval: the MLP branch output
    ad_in, ad_out = seen["ad"]
    assert torch.allclose(ad_in, x_mid + h, atol=1e-6)
    assert torch.allclose(seen["blk"][1], x_mid + h + ad_out, atol=1e-6)
    assert ad_out.abs().max() > 0  # bert init: the adapter is not a no-op


def test_width_and_inits() -> None:
    model = methods.apply(make_vit(), "adapter-pfeiffer")  # width 48 -> 48 // 16 = 3
    ad = model.blocks[0].adapter_pfeiffer.bottleneck
    assert ad.down.out_features == 3 and isinstance(ad.act, torch.nn.ReLU)
    assert torch.count_nonzero(ad.down.bias) == 0 and torch.count_nonzero(ad.up.bias) == 0
    assert 0.01 < float(ad.up.weight.detach().std()) < 0.04  # N(0, 0.02^2)
    exact = methods.apply(make_vit(), "adapter-pfeiffer", init="mam_adapter")
    x = make_input()
    with torch.no_grad():
        assert torch.equal(exact(x), make_vit()(x))


@pytest.mark.parametrize("factor", [1000])
def test_width_is_at_least_one(factor: int) -> None:
    model = methods.apply(make_vit(), "adapter-pfeiffer", reduction_factor=factor)
    assert model.blocks[0].adapter_pfeiffer.bottleneck.down.out_features == 1
