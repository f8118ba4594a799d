"""LoRALinear: a frozen linear layer plus low-rank deltas on chosen blocks of output rows.

Each expectation is the documented formula written out with plain tensor operations, so a wrong sign, scaling,
slice or initialisation shows as a wrong output.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from vpeft.methods.layers import LoRALinear

from tests.layer_checks import close


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def lora_with_random_b(out_f: int = 8, in_f: int = 5, r: int = 2, alpha: float = 8.0, dropout: float = 0.0,
                       slices: list[tuple[int, int]] | None = None) -> LoRALinear:
    layer = LoRALinear(nn.Linear(in_f, out_f), r, alpha, dropout, slices)
    with torch.no_grad():
        layer.lora_B.normal_()  # B starts at zero; a trained B is not
    return layer


def test_lora_adds_scaled_b_a_only_on_its_slices_rows_between_and_after_stay_the_base() -> None:
    layer = lora_with_random_b(slices=[(4, 6), (0, 2)])  # unsorted on purpose; rows 2-4 and 6-8 have no delta
    x = torch.randn(3, 5)
    base = layer.base_layer(x)
    out = layer(x)
    scaling = 8.0 / 2
    a, b = layer.lora_A, layer.lora_B
    assert layer.slices == [(0, 2), (4, 6)], "slices are kept sorted by their first row"
    close(out[:, 0:2], base[:, 0:2] + scaling * x @ a[0].T @ b[0].T, "rows 0-2: base + alpha/r * B_0 A_0 x")
    close(out[:, 4:6], base[:, 4:6] + scaling * x @ a[1].T @ b[1].T, "rows 4-6: base + alpha/r * B_1 A_1 x")
    close(out[:, 2:4], base[:, 2:4], "rows between two slices keep the base output")
    close(out[:, 6:8], base[:, 6:8], "rows after the last slice keep the base output")


def test_lora_one_slice_over_all_rows_is_plain_lora() -> None:
    layer = lora_with_random_b(alpha=2.0, r=2)
    x = torch.randn(4, 5)
    close(layer(x), layer.base_layer(x) + x @ (layer.lora_B[0] @ layer.lora_A[0]).T, "alpha == r: scaling 1")
    assert layer.slices == [(0, 8)]


def test_lora_starts_as_the_base_layer_with_kaiming_a_and_zero_b() -> None:
    layer = LoRALinear(nn.Linear(64, 16), r=4, alpha=4)
    x = torch.randn(2, 64)
    close(layer(x), layer.base_layer(x), "B is zero at init: the wrapper must not change the model")
    bound = 1 / math.sqrt(64)  # kaiming-uniform with a=sqrt(5) on fan_in 64, as nn.Linear and peft
    assert layer.lora_A.abs().max() <= bound + 1e-6, "A is kaiming-uniform(a=sqrt(5)): |A| <= 1/sqrt(fan_in)"
    assert layer.lora_A.std() > bound / 3, "A must be initialised (not zero, not tiny)"
    assert not layer.lora_B.any(), "B starts at zero"
    assert layer.lora_A.shape == (1, 4, 64) and layer.lora_B.shape == (1, 16, 4)


def test_lora_merge_folds_the_delta_into_the_weight() -> None:
    layer = lora_with_random_b(slices=[(0, 2), (6, 8)])
    x = torch.randn(3, 5)
    expected = layer(x)
    delta = layer.delta_weight()
    assert not delta[2:6].any(), "delta_weight is zero outside the slices"
    merged = layer.merge()
    assert isinstance(merged, nn.Linear)
    close(merged(x), expected, "the merged layer computes what the wrapper did")


def test_lora_dropout_acts_on_the_low_rank_input_in_training_only() -> None:
    layer = lora_with_random_b(dropout=0.5, out_f=6, in_f=64)
    assert isinstance(layer.dropout, nn.Dropout) and layer.dropout.p == 0.5
    x = torch.randn(16, 64)
    layer.train()
    first, second = layer(x), layer(x)
    assert not torch.allclose(first, second), "dropout 0.5 in training: two passes differ (dropout is not a no-op)"
    layer.eval()
    close(layer(x), layer(x), "no dropout in eval mode")
    close(layer(x), layer.base_layer(x) + 4 * x @ (layer.lora_B[0] @ layer.lora_A[0]).T, "eval: plain formula")
    with torch.no_grad():
        layer.lora_B.zero_()
    layer.train()
    close(layer(x), layer.base_layer(x), "dropout never touches the frozen base path")


def test_lora_without_dropout_has_no_dropout_layer() -> None:
    assert isinstance(LoRALinear(nn.Linear(4, 4), 1, 1).dropout, nn.Identity)


@pytest.mark.parametrize("slices", [[(0, 2), (2, 5)], [(0, 9)], [(-1, 1)], [(3, 3)], [(4, 2)], [(2, 6), (0, 4)]],
                         ids=["unequal", "past-the-end", "negative", "empty", "reversed", "overlapping"])
def test_lora_refuses_slices_that_are_not_equal_ranges_inside_the_layer(slices: list[tuple[int, int]]) -> None:
    with pytest.raises(ValueError, match=r"slices must be equal-sized, non-overlapping ranges inside \[0, 8\)"):
        LoRALinear(nn.Linear(4, 8), 1, 1, slices=slices)


def test_lora_accepts_a_slice_ending_at_the_last_row() -> None:
    assert LoRALinear(nn.Linear(4, 8), 1, 1, slices=[(0, 4), (4, 8)]).slices == [(0, 4), (4, 8)]


def test_lora_describes_itself() -> None:
    assert repr(LoRALinear(nn.Linear(4, 8), 2, 6)).count("r=2, scaling=3, slices=[(0, 8)]") == 1
