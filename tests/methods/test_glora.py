"""GLoRA: counts by formula for the path choices, the W'/b' formula, identity start and merge per choice."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from vpeft import methods
from vpeft.methods.counting import meta_model
from vpeft.methods.glora import GLoRAConfig, GLoRALinear

from tests.methods.conftest import make_input, make_vit
from tests.methods.published import vit_b16_trainable


def support_count(choice: str, rows: int, cols: int, r: int) -> int:
    return {"lora": r * (rows + cols), "vector": rows, "constant": 1, "none": 0}[choice]


def glora_count(cfg: GLoRAConfig, shapes: list[tuple[int, int]]) -> int:
    total = 0
    for n_out, n_in in shapes:
        total += support_count(cfg.a, n_out, n_in, cfg.rank) + support_count(cfg.b, n_out, n_in, cfg.rank)
        total += support_count(cfg.c, n_in, 1, cfg.rank)
        total += support_count(cfg.d, n_out, 1, cfg.rank) + support_count(cfg.e, n_out, 1, cfg.rank)
    return total


@pytest.mark.parametrize(
    "options",
    [{}, {"d": "vector"}, {"a": "vector", "b": "constant", "c": "none", "d": "constant", "e": "none"}, {"rank": 2}],
)
def test_count_by_formula_on_vit_b16(options: dict[str, object]) -> None:
    vit = meta_model("vit_base_patch16_224")
    linears = [m for n, m in vit.named_modules() if isinstance(m, nn.Linear) and not n.startswith("head")]
    shapes = [(m.out_features, m.in_features) for m in linears]
    assert vit_b16_trainable("glora", **options) == glora_count(GLoRAConfig(**options), shapes)


def random_layer(**options: object) -> GLoRALinear:
    torch.manual_seed(0)
    layer = GLoRALinear(nn.Linear(6, 4), GLoRAConfig(rank=2, **options)).eval()
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if "glora" in name:
                p.normal_()
    return layer


def test_weight_and_bias_follow_the_glora_formula() -> None:
    layer = random_layer(a="vector", b="constant", c="vector", d="constant", e="vector")
    w, b = layer.base_layer.weight, layer.base_layer.bias
    a, bb = layer.glora_a.glora_vec, layer.glora_b.glora_const
    c, d, e = layer.glora_c.glora_vec, layer.glora_d.glora_const, layer.glora_e.glora_vec
    new_w, new_b = layer.weight_and_bias()
    torch.testing.assert_close(new_w, w + w * a + bb)
    torch.testing.assert_close(new_b, b + b * d[0, 0] + e[:, 0] + (w @ c)[:, 0])


@pytest.mark.parametrize("choice", ["lora", "vector", "constant"])
def test_each_path_starts_as_identity_and_merges(choice: str) -> None:
    options = {"a": choice, "b": choice, "c": "none" if choice == "constant" else choice}
    x = make_input()
    with torch.no_grad():
        assert torch.equal(methods.apply(make_vit(), "glora", **options)(x), make_vit()(x))
    layer = random_layer(**options)
    h = torch.randn(3, 6)
    with torch.no_grad():
        expected = layer(h)
        merged = layer.merge()
    assert type(merged) is nn.Linear
    torch.testing.assert_close(merged(h), expected)


def test_bias_free_layer_gains_the_bias_terms_on_merge() -> None:
    torch.manual_seed(0)
    layer = GLoRALinear(nn.Linear(6, 4, bias=False), GLoRAConfig(rank=2)).eval()
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if "glora" in name:
                p.normal_()
        h = torch.randn(3, 6)
        expected = layer(h)
        merged = layer.merge()
    assert merged.bias is not None
    torch.testing.assert_close(merged(h), expected)
