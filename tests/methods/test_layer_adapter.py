"""Bottleneck: the adapter branch shared by the adapter-style methods.

Each expectation is the documented formula written out with plain tensor operations, so a wrong sign, scaling,
slice or initialisation shows as a wrong output.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn
from vpeft.methods.layers import Bottleneck

from tests.layer_checks import close


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_bottleneck_zero_up_outputs_zero_at_init_with_a_kaiming_down() -> None:
    b = Bottleneck(64, 8)
    assert not b(torch.randn(3, 64)).any(), "zero_up: the branch adds exactly 0 at init"
    assert b.down.weight.abs().max() <= 1 / 8 + 1e-6 and b.down.weight.std() > 1 / 8 / 3, "kaiming a=sqrt(5)"
    assert not b.down.bias.any() and not b.up.bias.any() and not b.up.weight.any()


def test_bottleneck_xavier_zero_up_uses_a_xavier_down() -> None:
    b = Bottleneck(64, 8, init="xavier_zero_up")
    bound = math.sqrt(6 / (64 + 8))
    assert b.down.weight.abs().max() <= bound + 1e-6 and b.down.weight.abs().max() > 1 / 8, "xavier, not kaiming"
    assert not b.up.weight.any() and not b.down.bias.any()


def test_bottleneck_houlsby_init_is_small_truncated_normal_and_near_identity() -> None:
    b = Bottleneck(64, 32, init="houlsby")
    for w in (b.down.weight, b.up.weight):
        assert w.abs().max() <= 0.02 + 1e-7, "truncated at 2 std (0.02)"
        assert 0.005 < w.std().item() < 0.01, "std 1e-2 before truncation"
    assert not b.down.bias.any() and not b.up.bias.any()
    out = b(torch.randn(2, 64))
    assert out.any() and out.abs().max() < 0.05, "near-identity: a small, non-zero branch"


def test_bottleneck_torch_init_keeps_pytorch_defaults() -> None:
    b = Bottleneck(16, 4, init="torch")
    assert b.down.bias.any() and b.up.weight.any(), "no init of its own: nn.Linear's defaults stay"


@pytest.mark.parametrize("act", ["gelu", "quick_gelu", "relu", "identity"])
def test_bottleneck_computes_scale_times_up_act_down(act: str) -> None:
    b = Bottleneck(6, 3, act=act, init="torch", scale=0.5)
    x = torch.randn(4, 6)
    fn = {"gelu": nn.functional.gelu, "relu": torch.relu, "identity": lambda t: t,
          "quick_gelu": lambda t: t * torch.sigmoid(1.702 * t)}[act]  # NOAH's adapter_super.py L8-L10
    close(b(x), 0.5 * b.up(fn(b.down(x))), f"act={act}")


def test_bottleneck_scale_is_learnable_only_when_asked_and_out_dim_changes_width() -> None:
    fixed = Bottleneck(6, 3, scale=2.0, out_dim=4)
    assert "scale" not in dict(fixed.named_parameters()) and "scale" not in fixed.state_dict()
    assert fixed(torch.randn(1, 6)).shape == (1, 4)
    learnable = Bottleneck(6, 3, scale=2.0, learnable_scale=True)
    assert isinstance(learnable.scale, nn.Parameter) and learnable.scale.item() == 2.0


def test_bottleneck_dropout_and_mid() -> None:
    b = Bottleneck(32, 16, init="torch", dropout=0.5, mid=nn.Tanh())
    x = torch.randn(8, 32)
    b.train()
    assert not torch.allclose(b(x), b(x)), "dropout 0.5 in training: two passes differ"
    b.eval()
    close(b(x), b.up(nn.functional.gelu(torch.tanh(b.down(x)))), "mid between down and act")


def test_bottleneck_as_affine_matches_forward_for_a_linear_branch_only() -> None:
    b = Bottleneck(5, 2, act="identity", init="torch", scale=1.5).eval()
    m, c = b.as_affine()
    x = torch.randn(3, 5)
    close(x @ m.T + c, b(x), "forward(x) = M x + c")
    with pytest.raises(ValueError, match="only a linear bottleneck"):
        Bottleneck(5, 2).as_affine()
    with pytest.raises(ValueError, match="only a linear bottleneck"):
        Bottleneck(5, 2, act="identity", mid=nn.Tanh()).as_affine()


def test_bottleneck_init_read_from_a_config_file_works_like_the_literal() -> None:
    # options arrive from JSON/YAML configs and the command line as strings built at run time, not as literals
    torch_init = json.loads('"torch"')
    b = Bottleneck(16, 4, init=torch_init)
    assert b.down.bias.any() and b.up.weight.any(), "init='torch' from a config must keep nn.Linear's defaults"
    houlsby = Bottleneck(64, 32, init=json.loads('"houlsby"'))
    assert houlsby.up.weight.abs().max() <= 0.02 + 1e-7 and houlsby.up.weight.any()
