"""Prefix-tuning-specific checks: attention over [prefix | sequence] keys, masks, parameter counts."""

from __future__ import annotations

import pytest
import timm
import torch
from vpeft import methods

from tests.methods.conftest import make_input, make_vit


def reference_attention(attn: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax attention written out by hand, with the layer's prefixes as extra keys and values."""
    b, n, c = x.shape
    h, d = attn.num_heads, c // attn.num_heads
    q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).reshape(b, n, 3, h, d).permute(2, 0, 3, 1, 4)
    pk, pv = attn.prefix_tuning.prefixes().reshape(2, -1, h, d).transpose(1, 2)
    k = torch.cat([pk.expand(b, -1, -1, -1), k], dim=2)
    v = torch.cat([pv.expand(b, -1, -1, -1), v], dim=2)
    weights = (q @ k.transpose(-2, -1) * d**-0.5).softmax(dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(b, n, c)
    return attn.proj(out)


@pytest.mark.parametrize("reparameterize", [True, False])
def test_attention_matches_hand_written_prefix_attention(reparameterize: bool) -> None:
    model = methods.apply(make_vit(), "prefix-tuning", length=5, reparameterize=reparameterize).eval()
    attn = model.blocks[1].attn
    x = torch.randn(2, 17, 48)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), reference_attention(attn, x), atol=1e-5, rtol=1e-5)


def test_prefixes_change_the_output() -> None:
    model = methods.apply(make_vit(), "prefix-tuning")
    with torch.no_grad():
        assert not torch.allclose(model(make_input()), make_vit()(make_input()))


def test_full_attention_mask_gives_the_unmasked_result() -> None:
    model = methods.apply(make_vit(), "prefix-tuning", length=3).eval()
    x = make_input()
    n = model.num_prefix_tokens + model.patch_embed.num_patches
    with torch.no_grad():
        masked = model(x, attn_mask=torch.ones(n, n, dtype=torch.bool))
        torch.testing.assert_close(masked, model(x), atol=1e-6, rtol=1e-6)


def test_causal_is_refused() -> None:
    model = methods.apply(make_vit(), "prefix-tuning")
    with pytest.raises(ValueError, match="prefix-tuning: is_causal"):
        model(make_input(), is_causal=True)


def test_folded_prefix_shape() -> None:
    model = methods.apply(make_vit(), "prefix-tuning", length=7)
    assert model.blocks[0].attn.prefix_tuning.prefixes().shape == (2, 7, 48)


@pytest.mark.parametrize("reparameterize", [True, False])
def test_parameter_count_on_vit_base(reparameterize: bool) -> None:
    with torch.device("meta"):
        model = timm.create_model("vit_base_patch16_224", pretrained=False)
        methods.apply(model, "prefix-tuning", reparameterize=reparameterize)
    cfg = methods.make_config("prefix-tuning")
    c, depth, length, mid = model.embed_dim, len(model.blocks), cfg.length, cfg.mid_dim
    mlp = length * c + (c * mid + mid) + (mid * 2 * c + 2 * c)  # embedding + Linear(C, mid) + Linear(mid, 2C)
    direct = 2 * length * c  # key and value prefixes
    per_layer = mlp if reparameterize else direct
    assert methods.trainable_parameters(model) == depth * per_layer
