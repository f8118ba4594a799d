"""ScaleShift (SSF): y = base(x) * scale + shift, its initialisation and folding.

Each expectation is the documented formula written out with plain tensor operations, so a wrong sign, scaling,
slice or initialisation shows as a wrong output.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from vpeft.methods.layers import ScaleShift

from tests.layer_checks import close


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_scale_shift_starts_as_identity_without_init_std() -> None:
    layer = ScaleShift(nn.Linear(4, 6), 6)
    x = torch.randn(2, 4)
    close(layer(x), layer.base(x), "scale 1 and shift 0: the wrapper must not change the model")


def test_scale_shift_random_init_centres_scale_at_one_and_shift_at_zero() -> None:
    layer = ScaleShift(nn.Identity(), 20000, init_std=0.02)
    scale, shift = layer.ssf_scale.detach(), layer.ssf_shift.detach()
    assert abs(scale.mean().item() - 1.0) < 0.002, "SSF's scale is drawn from N(1, init_std)"
    assert abs(shift.mean().item()) < 0.002, "SSF's shift is drawn from N(0, init_std)"
    assert abs(scale.std().item() - 0.02) < 0.002 and abs(shift.std().item() - 0.02) < 0.002, "spread is init_std"
    assert not torch.equal(scale, shift + 1), "scale and shift are drawn independently"


def test_scale_shift_scales_then_shifts_the_channel_dimension() -> None:
    layer = ScaleShift(nn.Linear(3, 4), 4, init_std=0.5)
    x = torch.randn(5, 3)
    close(layer(x), layer.base(x) * layer.ssf_scale + layer.ssf_shift, "y = base(x) * scale + shift")
    conv = ScaleShift(nn.Conv2d(2, 4, 1), 4, init_std=0.5, channel_dim=1)
    img = torch.randn(1, 2, 3, 3)
    expected = conv.base(img) * conv.ssf_scale.view(1, 4, 1, 1) + conv.ssf_shift.view(1, 4, 1, 1)
    close(conv(img), expected, "channel-first: scale and shift act on dim 1")


@pytest.mark.parametrize("make", [lambda: nn.Linear(3, 4), lambda: nn.Linear(3, 4, bias=False),
                                  lambda: nn.LayerNorm(4), lambda: nn.Conv2d(4, 4, 1)],
                         ids=["linear", "linear-no-bias", "layernorm", "conv"])
def test_scale_shift_merge_is_exact(make) -> None:  # type: ignore[no-untyped-def]
    base = make()
    channel_dim = 1 if isinstance(base, nn.Conv2d) else -1
    layer = ScaleShift(base, 4, init_std=0.3, channel_dim=channel_dim)
    x = torch.randn(2, 4, 3, 3) if isinstance(base, nn.Conv2d) else torch.randn(2, 4 if isinstance(
        base, nn.LayerNorm) else 3)
    expected = layer(x)
    merged = layer.merge()
    assert merged is base
    close(merged(x), expected, f"{type(base).__name__}: folding scale/shift into weight and bias")
    assert merged.bias.requires_grad == merged.weight.requires_grad


def test_scale_shift_refuses_to_fold_what_it_cannot() -> None:
    with pytest.raises(ValueError, match="LayerNorm without affine"):
        ScaleShift(nn.LayerNorm(4, elementwise_affine=False), 4).merge()
    with pytest.raises(ValueError, match="cannot fold SSF into GELU"):
        ScaleShift(nn.GELU(), 4).merge()
