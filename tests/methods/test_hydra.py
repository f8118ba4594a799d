"""Hydra: branch placement, the merge formula and the published count (which includes the mean VTAB head)."""

from __future__ import annotations

import timm
import torch
from torch import nn
from vpeft import methods
from vpeft.methods.hydra import HydraConfig, HydraLinear

from tests.methods.conftest import make_input, make_vit
from tests.methods.hooks import recording
from tests.methods.published import as_millions, published_vtab_params, vit_b16_trainable, vtab_class_counts


def branch(n_in: int, r: int, n_out: int) -> int:
    return n_in * r + r + r * n_out + n_out


def test_count_by_formula_and_published_count_with_the_mean_head() -> None:
    with torch.device("meta"):
        vit = timm.create_model("vit_base_patch16_224", pretrained=False)
    c, hidden, r = vit.embed_dim, vit.blocks[0].mlp.fc1.out_features, HydraConfig().dim
    # attn.proj: parallel and sequential C -> C; mlp.fc2: parallel hidden -> C, sequential C -> C
    expected = len(vit.blocks) * (3 * branch(c, r, c) + branch(hidden, r, c))
    assert vit_b16_trainable("hydra") == expected
    classes = vtab_class_counts()
    mean_head = sum(c * k + k for k in classes) / len(classes)
    assert as_millions(expected) != published_vtab_params("hydra")
    assert as_millions(expected + mean_head) == published_vtab_params("hydra")


def test_parallel_branch_reads_the_input_and_sequential_the_output() -> None:
    model = methods.apply(make_vit(), "hydra")
    layer = model.blocks[0].mlp.fc2
    assert isinstance(layer, HydraLinear)
    mods = {"base": layer.base_layer, "par": layer.hydra_par, "seq": layer.hydra_seq, "layer": layer}
    with torch.no_grad(), recording(mods) as seen:
        model(make_input())
    assert torch.equal(seen["par"][0], seen["base"][0])
    assert torch.equal(seen["seq"][0], seen["base"][1])
    assert torch.equal(seen["layer"][1], seen["base"][1] + seen["par"][1] + seen["seq"][1])


def test_merge_matches_the_formula_also_without_a_base_bias() -> None:
    torch.manual_seed(0)
    for bias in (True, False):
        layer = HydraLinear(nn.Linear(12, 6, bias=bias), HydraConfig(dim=3, scale=0.7)).eval()
        with torch.no_grad():
            for p in layer.parameters():
                p.normal_()
            x = torch.randn(4, 12, dtype=torch.float32)
            expected = layer(x)
            merged = layer.merge()
        assert type(merged) is nn.Linear and merged.bias is not None
        torch.testing.assert_close(merged(x), expected, atol=1e-4, rtol=1e-5)
