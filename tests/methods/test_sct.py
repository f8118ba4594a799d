"""SCT: count, salient channel selection, channel-local update, and a saved selection reloading."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from vpeft import methods
from vpeft.methods.sct import ChannelLinear, salient_channels

from tests.methods.conftest import make_input, make_vit
from tests.methods.published import as_millions, published_vtab_params, vit_b16_trainable


def test_default_count_matches_v_petl_bench() -> None:
    with torch.device("meta"):
        vit = timm.create_model("vit_base_patch16_224", pretrained=False)
    n = vit.embed_dim // 8  # official topN=96 of 768
    expected = len(vit.blocks) * (n * n + n)
    assert vit_b16_trainable("sct") == expected
    assert as_millions(expected) == published_vtab_params("sct")


def test_salient_channels_pick_the_loudest_channels() -> None:
    model = make_vit()
    with torch.no_grad():
        model.blocks[0].attn.proj.bias[[5, 17]] = 100.0  # these channels dominate the residual stream from block 0
    cfg = salient_channels(model, make_input(batch=4), torch.tensor([0, 1, 0, 1]), n_channels=2)
    assert cfg.channels == ((5, 17), (5, 17))


def test_update_touches_only_the_selected_channels() -> None:
    layer = ChannelLinear([1, 4, 6], scale=1.0)
    x = torch.randn(2, 3, 8)
    out = layer(x)
    others = [0, 2, 3, 5, 7]
    assert torch.equal(out[..., others], x[..., others])
    torch.testing.assert_close(out[..., [1, 4, 6]], x[..., [1, 4, 6]] + layer.linear(x[..., [1, 4, 6]]))


def test_selected_channels_survive_save_and_load(tmp_path: Path) -> None:
    cfg = salient_channels(make_vit(), make_input(batch=4), torch.tensor([0, 1, 2, 3]), n_channels=3)
    model = methods.apply(make_vit(), "sct", cfg=cfg)
    path = tmp_path / "sct.safetensors"
    methods.save_trained(model, path)
    restored = methods.load_trained(make_vit(), path)
    assert methods.applied(restored).config == cfg
    x = make_input()
    with torch.no_grad():
        assert torch.equal(restored(x), model(x))


def test_bad_channel_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="one per block"):
        methods.apply(make_vit(), "sct", channels=((0, 1),))
    with pytest.raises(ValueError, match="exceeds the model width"):
        methods.apply(make_vit(), "sct", n_channels=100)
