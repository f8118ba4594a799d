"""DTL-specific checks: the running low-rank sum and its swish additions, layout defaults, parameter counts."""

from __future__ import annotations

import pytest
import timm
import torch
from torch import nn
from vpeft import methods

from tests.methods.conftest import make_input, make_vit
from tests.methods.published import as_millions, published_vtab_params


def reference_dtl(
    variant: str, a: torch.Tensor, b: torch.Tensor, beta: float, add_after: set[int], fusion: nn.Conv2d | None = None
) -> torch.Tensor:
    """The DTL forward written out on a plain backbone: x_{i+1} = block_i(x_i) (+ swish(sum_j<=i B_j A_j x_j)).

    DTL+: the patch tokens of swish(sum) go through the depthwise `fusion` conv on the patch grid first.
    """
    plain = make_vit(variant)
    p, (gh, gw) = plain.num_prefix_tokens, plain.patch_embed.grid_size
    x = plain.norm_pre(plain.patch_drop(plain._pos_embed(plain.patch_embed(make_input(variant)))))
    total = torch.zeros_like(x)
    for i, block in enumerate(plain.blocks):
        total = total + x @ a[i].T @ b[i].T
        x = block(x)
        if i in add_after:
            act = total * torch.sigmoid(beta * total)
            if fusion is not None:
                grid = act[:, p:].transpose(1, 2).reshape(act.shape[0], -1, gh, gw)
                act = torch.cat([act[:, :p], fusion(grid).flatten(2).transpose(1, 2)], dim=1)
            x = x + act
    return plain.forward_head(plain.norm(x))


@pytest.mark.parametrize("variant", ["cls", "avgpool-no-cls", "patch4-img24"])
def test_matches_written_out_forward(variant: str) -> None:
    model = methods.apply(make_vit(variant), "dtl", beta=3.0, pool="backbone").eval()
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
    assert as_millions(expected) == published_vtab_params("dtl")  # V-PETL Bench VTAB-1k, from the catalog


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # k=4, as the official scripts use
@pytest.mark.parametrize(("variant", "k"), [("cls", 3), ("reg-tokens", 5), ("patch4-img24", 4)])
def test_dtl_plus_fusion_matches_written_out_forward(variant: str, k: int) -> None:
    plain_out = make_vit(variant)(make_input(variant))
    model = methods.apply(make_vit(variant), "dtl", beta=3.0, fusion_size=k, pool="backbone").eval()
    with torch.no_grad():
        assert torch.equal(model(make_input(variant)), plain_out)  # still the backbone at init (B = 0)
        model.dtl.B.normal_(0, 0.5)
        depth = len(model.blocks)
        expected = reference_dtl(
            variant, model.dtl.A, model.dtl.B, 3.0, set(range(depth // 2, depth)), fusion=model.dtl.fusion
        )
        torch.testing.assert_close(model(make_input(variant)), expected, atol=1e-5, rtol=1e-5)
    assert model.dtl.fusion.weight.shape == (model.embed_dim, 1, k, k)


def test_dtl_plus_parameter_count_on_vit_base() -> None:
    with torch.device("meta"):
        model = methods.apply(timm.create_model("vit_base_patch16_224", pretrained=False), "dtl", fusion_size=5)
    c, depth, r = model.embed_dim, len(model.blocks), methods.make_config("dtl").r
    assert methods.trainable_parameters(model) == depth * 2 * r * c + c * 5 * 5
