"""LST-specific checks: ladders and gates, no graph through the backbone, side layers, parameter counts."""

from __future__ import annotations

import pytest
import timm
import torch
from vpeft import methods
from vpeft.methods.base import UnsupportedModelError

from tests.methods.conftest import VARIANTS, make_input, make_vit
from tests.methods.published import as_millions, published_vtab_params


def lst_output_with_perturbed_backbone(gate_init: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs of one LST model before and after changing a backbone block's weights."""
    model = methods.apply(make_vit(), "lst", gate_init=gate_init).eval()
    x = make_input()
    with torch.no_grad():
        before = model(x)
        model.blocks[1].mlp.fc2.weight.add_(0.5)
        return before, model(x)


def test_ladders_feed_backbone_features_through_gates() -> None:
    before, after = lst_output_with_perturbed_backbone(gate_init=0.0)  # g = 0.5: half ladder input
    assert not torch.allclose(before, after)
    before, after = lst_output_with_perturbed_backbone(gate_init=100.0)  # g = sigmoid(1000) = 1: ladders shut
    assert torch.equal(before, after)


def test_gate_is_sigmoid_of_alpha_over_temperature() -> None:
    model = methods.apply(make_vit(), "lst", gate_init=0.3, gate_temperature=0.5)
    net = model.lst_side
    feats, side = torch.randn(2, 5, 48), torch.randn(2, 5, 6)
    g = torch.sigmoid(torch.tensor(0.3 / 0.5))
    with torch.no_grad():
        expected = net.blocks[0](g * side + (1 - g) * net.downs[0](feats))
        torch.testing.assert_close(net.ladder(0, side, feats), expected)


def test_no_autograd_graph_through_the_backbone() -> None:
    model = methods.apply(make_vit(), "lst").train()
    outs: list[torch.Tensor] = []
    hooks = [b.register_forward_hook(lambda _m, _a, out: outs.append(out)) for b in model.blocks]
    model(make_input()).sum().backward()
    for h in hooks:
        h.remove()
    assert outs and not any(o.requires_grad for o in outs)
    no_grad = [n for n, p in model.lst_side.named_parameters() if p.grad is None]
    assert no_grad == [], f"lst: side-network parameters without a gradient (not on the loss path): {no_grad}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_side_features_have_the_backbone_shape(variant: str) -> None:
    model = methods.apply(make_vit(variant), "lst").eval()
    x = make_input(variant)
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == make_vit(variant).forward_features(x).shape
        assert torch.equal(model.forward_head(feats), model(x))


def test_side_layers_subset() -> None:
    model = methods.apply(make_vit("patch4-img24"), "lst", side_layers=(0, 2))
    assert model.lst_side.layers == [0, 2] and len(model.lst_side.blocks) == 2
    model(make_input("patch4-img24")).sum().backward()


def test_bad_side_layers_and_reduction_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"side_layers must be non-empty indices in \[0, 2\)"):
        methods.apply(make_vit(), "lst", side_layers=(5,))
    with pytest.raises(UnsupportedModelError, match="reduction 5"):
        methods.apply(make_vit(), "lst", reduction=5)


def side_block_params(width: int, hidden: int) -> int:
    """qkv, proj, fc1, fc2 (with biases) and two LayerNorms of a timm Block."""
    return (width * 3 * width + 3 * width) + (width * width + width) + (width * hidden + hidden) + (
        hidden * width + width
    ) + 2 * 2 * width


def test_parameter_count_on_vit_base() -> None:
    with torch.device("meta"):
        model = methods.apply(timm.create_model("vit_base_patch16_224", pretrained=False), "lst")
    c, depth, r = model.embed_dim, len(model.blocks), methods.make_config("lst").reduction
    hidden = model.blocks[0].mlp.fc1.out_features
    s = c // r
    expected = (
        depth * side_block_params(s, hidden // r)
        + (depth + 1) * (c * s + s)  # ladders from every block and from the embeddings
        + depth  # gates
        + 2 * s  # final side LayerNorm
        + (s * c + c)  # up-projection
    )
    assert methods.trainable_parameters(model) == expected
    assert as_millions(expected) == published_vtab_params("lst")  # V-PETL Bench VTAB-1k, from the catalog
