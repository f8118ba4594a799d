"""DTL-specific checks: the running low-rank sum and its swish additions, layout defaults, parameter counts."""

from __future__ import annotations

import pytest
import timm
import torch

import methods
from tests.methods.conftest import make_input, make_vit


def reference_dtl(variant: str, a: torch.Tensor, b: torch.Tensor, beta: float, add_after: set[int]) -> torch.Tensor:
    """The DTL forward written out on a plain backbone: x_{i+1} = block_i(x_i) (+ swish(sum_j<=i B_j A_j x_j))."""
    plain = make_vit(variant)
    x = plain.norm_pre(plain.patch_drop(plain._pos_embed(plain.patch_embed(make_input(variant)))))
    total = torch.zeros_like(x)
    for i, block in enumerate(plain.blocks):
        total = total + x @ a[i].T @ b[i].T
        x = block(x)
        if i in add_after:
            x = x + total * torch.sigmoid(beta * total)
    return plain.forward_head(plain.norm(x))


@pytest.mark.parametrize("variant", ["cls", "avgpool-no-cls", "patch4-img24"])
def test_matches_written_out_forward(variant: str) -> None:
    model = methods.apply(make_vit(variant), "dtl", beta=3.0).eval()
    with torch.no_grad():
        model.dtl.B.normal_(0, 0.5)
        depth = len(model.blocks)
        expected = reference_dtl(variant, model.dtl.A, model.dtl.B, 3.0, set(range(depth // 2, depth)))
        torch.testing.assert_close(model(make_input(variant)), expected, atol=1e-5, rtol=1e-5)
        assert not torch.allclose(expected, make_vit(variant)(make_input(variant)))


def test_default_layout_on_vit_base_is_the_official_one() -> None:
    with torch.device("meta"):
        model = methods.apply(timm.create_model("vit_base_patch16_224", pretrained=False), "dtl")
    assert model.dtl.low_rank == list(range(12))
    assert model.dtl.add_after == set(range(6, 12))


def test_bad_layouts_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"add_after_blocks must be non-empty block indices in \[0, 2\)"):
        methods.apply(make_vit(), "dtl", add_after_blocks=(7,))
    with pytest.raises(ValueError, match="must not come after the last addition"):
        methods.apply(make_vit("patch4-img24"), "dtl", add_after_blocks=(1,))


def test_parameter_count_on_vit_base() -> None:
    with torch.device("meta"):
        model = methods.apply(timm.create_model("vit_base_patch16_224", pretrained=False), "dtl")
    c, depth, r = model.embed_dim, len(model.blocks), methods.make_config("dtl").r
    expected = depth * (r * c + c * r)  # A (r x C) and B (C x r) for every block
    assert methods.trainable_parameters(model) == expected
    # V-PETL Bench VTAB-1k (README table / seed vtab1k.csv): DTL 0.04M, printed to 2 decimals
    assert f"{expected / 1e6:.2f}M" == "0.04M"
