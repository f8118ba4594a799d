"""VQT: backbone features untouched, the official forward (written from andytu28/VQT@9bca87e), options, counts."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from vpeft import methods

from tests.methods.conftest import make_input, make_vit
from tests.methods.hooks import recording
from tests.methods.published import vit_b16_trainable


def _official_block(blk: nn.Module, x: torch.Tensor, t: int) -> torch.Tensor:
    """`Head2ToeBlock.forward` + `Head2ToeAttention.forward` (h2t_vit.py L95-L117, L201-L211) on timm weights:
    queries from all tokens, keys/values from the tokens after the first t, then the usual residual block."""
    h = blk.norm1(x)
    heads, width = blk.attn.num_heads, blk.attn.attn_dim
    q_all, _, _ = blk.attn.qkv(h).split(width, dim=-1)
    _, k, v = blk.attn.qkv(h[:, t:]).split(width, dim=-1)

    def split(z: torch.Tensor) -> torch.Tensor:
        return z.reshape(z.shape[0], z.shape[1], heads, -1).permute(0, 2, 1, 3)

    scores = split(q_all) @ split(k).transpose(-1, -2) / math.sqrt(width // heads)
    ctx = (scores.softmax(dim=-1) @ split(v)).permute(0, 2, 1, 3).reshape(x.shape[0], x.shape[1], width)
    x = x + blk.attn.proj(ctx)
    return x + blk.mlp(blk.norm2(x))


def _official_logits(model: nn.Module, img: torch.Tensor) -> torch.Tensor:
    """`Head2ToeEncoder.forward` and `Head2ToeVisionTransformer.forward` (concat, normalised features), eval mode."""
    x = model.norm_pre(model._pos_embed(model.patch_embed(img)))
    t = model.vqt_queries.shape[1]
    outs = []
    for i, blk in enumerate(model.blocks):
        x = _official_block(blk, torch.cat([model.vqt_queries[i].expand(x.shape[0], -1, -1), x], dim=1), t)
        outs.append(x[:, :t])
        x = x[:, t:]
    feats = [model.norm(x)[:, 0]] + [q.reshape(q.shape[0], -1) for q in outs]
    return model.head(torch.cat([F.normalize(f) for f in feats], dim=1))


def test_matches_the_official_forward() -> None:
    model = methods.apply(make_vit(), "vqt", num_tokens=2).eval()
    img = make_input()
    with torch.no_grad():
        assert torch.allclose(model(img), _official_logits(model, img), atol=1e-5)


def test_backbone_features_are_unchanged_and_carry_no_graph() -> None:
    plain = make_vit()
    model = methods.apply(make_vit(), "vqt", num_tokens=3).eval()
    img = make_input()
    with recording({"norm": model.norm}) as seen:
        feats = model.forward_features(img)
    with torch.no_grad():
        ref = plain.forward_features(img)
    n = ref.shape[1]
    assert feats.shape[1] == n + 2 * 3  # 2 blocks x 3 query outputs after the tokens
    assert torch.equal(feats[:, :n], ref)
    assert not seen["norm"][0].requires_grad  # the last block's output: the frozen stream has no autograd graph
    model(img).sum().backward()
    assert model.vqt_queries.grad is not None and model.vqt_queries.grad.abs().sum() > 0


@pytest.mark.parametrize(("combine", "width"), [("concat", 48 + 2 * 2 * 48), ("mean", 48 + 2 * 48),
                                                ("weighted-sum", 48 + 2 * 48)])
def test_head_width_per_combine(combine: str, width: int) -> None:
    model = methods.apply(make_vit(), "vqt", num_tokens=2, combine=combine)
    assert model.head.in_features == width
    assert model(make_input()).shape == (2, 5)
    assert hasattr(model, "vqt_combine") == (combine == "weighted-sum")


def test_official_head_and_query_init() -> None:
    model = methods.apply(make_vit(), "vqt")
    assert torch.allclose(model.head.bias, torch.full((5,), -math.log(99.0)))
    bound = math.sqrt(6.0 / (3 * 8 * 8 + 48))  # patch 8, width 48
    assert float(model.vqt_queries.detach().abs().max()) <= bound


def test_count_on_vit_b16() -> None:
    assert vit_b16_trainable("vqt") == 12 * 1 * 768
    assert vit_b16_trainable("vqt", num_tokens=5, combine="weighted-sum") == 12 * 5 * 768 + 12 * 5
