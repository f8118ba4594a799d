"""SCT-specific checks: the channel map after the attention residual, salient channel selection, counts."""

from __future__ import annotations

import pytest
import timm
import torch

import methods
from methods.sct import salient_channels
from tests.methods.conftest import make_input, make_vit


def test_block_adds_linear_map_on_selected_channels_after_attention() -> None:
    chans = ((1, 5, 7, 40), (0, 2, 3, 47))
    model = methods.apply(make_vit(), "sct", top_k=4, channels=chans).eval()
    block, plain = model.blocks[1], make_vit().blocks[1]
    x = torch.randn(2, 5, 48)
    with torch.no_grad():
        h = x + plain.attn(plain.norm1(x))
        idx = torch.tensor(chans[1])
        h[..., idx] += h[..., idx] @ block.sct.linear.weight.T + block.sct.linear.bias
        expected = h + plain.mlp(plain.norm2(h))
        torch.testing.assert_close(block(x), expected, atol=1e-5, rtol=1e-5)


def brute_force_salient(model: torch.nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]], k: int) -> list:
    """Store every norm2 input, then score channels as the class-mean of per-class L2 norms (official formula)."""
    feats: list[list[torch.Tensor]] = [[] for _ in model.blocks]
    hooks = [
        b.norm2.register_forward_pre_hook(lambda _m, a, i=i: feats[i].append(a[0][:, model.num_prefix_tokens :]))
        for i, b in enumerate(model.blocks)
    ]
    with torch.no_grad():
        for images, _ in batches:
            model(images)
    for h in hooks:
        h.remove()
    labels = torch.cat([y for _, y in batches])
    out = []
    for per_block in feats:
        f = torch.cat(per_block)
        norms = torch.stack([torch.linalg.vector_norm(f[labels == c], dim=(0, 1)) for c in labels.unique()])
        out.append(tuple(sorted(norms.mean(0).topk(k).indices.tolist())))
    return out


@pytest.mark.parametrize("variant", ["cls", "reg-tokens"])
def test_salient_channels_match_the_official_scoring(variant: str) -> None:
    model = make_vit(variant)
    batches = [(make_input(variant, batch=4, seed=s), torch.tensor([0, 1, 2, s % 3])) for s in range(3)]
    chosen = salient_channels(model, batches, top_k=6)
    assert list(chosen) == brute_force_salient(model, batches, 6)
    assert all(len(c) == 6 for c in chosen) and len(chosen) == len(model.blocks)
    applied = methods.apply(model, "sct", top_k=6, channels=chosen)
    assert applied.blocks[0].sct.index.tolist() == list(chosen[0])


def test_default_k_is_an_eighth_of_the_width() -> None:
    model = methods.apply(make_vit(), "sct")
    assert model.blocks[0].sct.index.tolist() == list(range(48 // 8))


def test_bad_channels_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="for each of the 2 blocks, 2 distinct indices in"):
        methods.apply(make_vit(), "sct", top_k=2, channels=((0, 0), (1, 2)))
    with pytest.raises(methods.UnsupportedModelError, match="top_k=100 is more than"):
        methods.apply(make_vit(), "sct", top_k=100)


def test_parameter_count_on_vit_base() -> None:
    with torch.device("meta"):
        model = methods.apply(timm.create_model("vit_base_patch16_224", pretrained=False), "sct")
    k = model.embed_dim // 8
    expected = len(model.blocks) * (k * k + k)  # one K x K linear with bias per block
    assert k == 96 and methods.trainable_parameters(model) == expected
    # V-PETL Bench VTAB-1k (README table / seed vtab1k.csv): SCT 0.11M, printed to 2 decimals
    assert f"{expected / 1e6:.2f}M" == "0.11M"
