"""E2VPT-specific checks: key-value prompts in attention, visual prompts as VPT-deep, init, parameter counts."""

from __future__ import annotations

import math

import pytest
import timm
import torch
from vpeft import methods

from tests.methods.conftest import make_vit


def hand_written_attention(attn: torch.nn.Module, x: torch.Tensor, pk: torch.Tensor, pv: torch.Tensor) -> torch.Tensor:
    b, n, c = x.shape
    h, d = attn.num_heads, c // attn.num_heads
    q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).reshape(b, n, 3, h, d).permute(2, 0, 3, 1, 4)
    k = torch.cat([pk.expand(b, -1, -1, -1), k], dim=2)
    v = torch.cat([pv.expand(b, -1, -1, -1), v], dim=2)
    out = ((q @ k.transpose(-2, -1) * d**-0.5).softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
    return attn.proj(out)


@pytest.mark.parametrize("share_kv", [True, False])
def test_kv_prompts_in_front_of_keys_and_values(share_kv: bool) -> None:
    model = methods.apply(make_vit(), "e2vpt", num_kv_tokens=4, share_kv=share_kv).eval()
    attn = model.blocks[0].attn
    kv = attn.e2vpt.e2vpt_kv
    assert kv.shape == (1 if share_kv else 2, 3, 4, 16)
    x = torch.randn(2, 9, 48)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), hand_written_attention(attn, x, kv[0], kv[-1]), atol=1e-5, rtol=1e-5)


def test_visual_prompts_are_deep_vpt_prompts() -> None:
    model = methods.apply(make_vit(), "e2vpt", num_tokens=3)
    assert all(b.vpt_prompt.shape == (3, 48) for b in model.blocks)
    assert all(b.vpt_last == (i == len(model.blocks) - 1) for i, b in enumerate(model.blocks))


def test_kv_prompt_init_is_official_kaiming_uniform() -> None:
    model = methods.apply(make_vit(), "e2vpt", num_kv_tokens=50)
    kv = torch.stack([b.attn.e2vpt.e2vpt_kv for b in model.blocks])
    bound = math.sqrt(6.0 / (50 * 16))  # gain sqrt(2) (leaky_relu, a=0) x sqrt(3 / fan_in), fan_in = tokens x head_dim
    assert kv.abs().max() <= bound and kv.abs().max() > 0.9 * bound


@pytest.mark.parametrize("share_kv", [True, False])
def test_parameter_count_on_vit_base(share_kv: bool) -> None:
    with torch.device("meta"):
        model = timm.create_model("vit_base_patch16_224", pretrained=False)
        methods.apply(model, "e2vpt", share_kv=share_kv)
    cfg = methods.make_config("e2vpt")
    depth, c, heads = len(model.blocks), model.embed_dim, model.blocks[0].attn.num_heads
    visual = depth * cfg.num_tokens * c
    kv = depth * (1 if share_kv else 2) * heads * cfg.num_kv_tokens * (c // heads)
    assert methods.trainable_parameters(model) == visual + kv
