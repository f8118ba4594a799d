"""The shared layers of methods/layers/: what each computes, how it starts, how it folds, and what it refuses.

Each expectation is the layer's documented formula written out with plain tensor operations, so a wrong sign,
scaling, slice or initialisation shows as a wrong output, not as a changed line.
"""

from __future__ import annotations

import math

import pytest
import torch
from timm.models.vision_transformer import Attention
from torch import nn
from vpeft.methods.layers import Bottleneck, LoRALinear, ScaleShift
from vpeft.methods.layers.prefixed_attention import _extend_mask, prefixed_attention, require_timm_attention
from vpeft.methods.layers.token_grid import QuickGELU, conv_tokens, grid_size, model_grid


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def close(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    assert torch.allclose(a, b, atol=1e-5), f"{what}: largest difference {(a - b).abs().max().item():.3g}"


# ---------------------------------------------------------------- LoRALinear


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


@pytest.mark.parametrize("slices", [[(0, 2), (2, 5)], [(0, 9)], [(-1, 1)], [(3, 3)], [(4, 2)]],
                         ids=["unequal", "past-the-end", "negative", "empty", "reversed"])
def test_lora_refuses_slices_that_are_not_equal_ranges_inside_the_layer(slices: list[tuple[int, int]]) -> None:
    with pytest.raises(ValueError, match=r"slices must be equal-sized ranges inside \[0, 8\)"):
        LoRALinear(nn.Linear(4, 8), 1, 1, slices=slices)


def test_lora_accepts_a_slice_ending_at_the_last_row() -> None:
    assert LoRALinear(nn.Linear(4, 8), 1, 1, slices=[(0, 4), (4, 8)]).slices == [(0, 4), (4, 8)]


def test_lora_describes_itself() -> None:
    assert repr(LoRALinear(nn.Linear(4, 8), 2, 6)).count("r=2, scaling=3, slices=[(0, 8)]") == 1


# ---------------------------------------------------------------- ScaleShift


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


# ---------------------------------------------------------------- Bottleneck


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


@pytest.mark.parametrize("act", ["gelu", "relu", "identity"])
def test_bottleneck_computes_scale_times_up_act_down(act: str) -> None:
    b = Bottleneck(6, 3, act=act, init="torch", scale=0.5)
    x = torch.randn(4, 6)
    fn = {"gelu": nn.functional.gelu, "relu": torch.relu, "identity": lambda t: t}[act]
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


# ---------------------------------------------------------------- token grid


def test_quick_gelu_formula() -> None:
    x = torch.linspace(-3, 3, 13)
    close(QuickGELU()(x), x * torch.sigmoid(1.702 * x), "x * sigmoid(1.702 x)")


def test_grid_size_uses_the_model_grid_when_it_fits_else_a_square() -> None:
    assert grid_size(12, (3, 4)) == (3, 4)
    assert grid_size(16, (3, 4)) == (4, 4), "a model grid that does not hold the tokens gives way to a square"
    assert grid_size(9, None) == (3, 3)
    with pytest.raises(ValueError, match="cannot lay 12 patch tokens"):
        grid_size(12, None)


def test_model_grid_reads_the_patch_embedding() -> None:
    from timm.models.vision_transformer import VisionTransformer

    vit = VisionTransformer(img_size=32, patch_size=8, embed_dim=8, depth=1, num_heads=2)
    assert model_grid(vit) == (4, 4)
    assert model_grid(nn.Linear(2, 2)) is None


def test_conv_tokens_convolves_patches_as_an_image_and_prefix_tokens_as_1x1() -> None:
    conv = nn.Conv2d(4, 4, 3, padding=1)
    x = torch.randn(2, 1 + 6, 4)  # class token + a 2x3 grid
    out = conv_tokens(x, 1, (2, 3), conv)
    grid = x[:, 1:].transpose(1, 2).reshape(2, 4, 2, 3)
    close(out[:, 1:], conv(grid).flatten(2).transpose(1, 2), "patch tokens: the conv over the (2, 3) grid")
    centre = conv.weight[:, :, 1, 1]
    close(out[:, :1], x[:, :1] @ centre.T + conv.bias, "class token: only the kernel's centre tap (1x1 image)")
    close(conv_tokens(x[:, 1:], 0, (2, 3), conv), out[:, 1:], "no prefix tokens: patches only")


# ---------------------------------------------------------------- prefixed attention


def reference_attention(attn: Attention, x: torch.Tensor, pk: torch.Tensor, pv: torch.Tensor) -> torch.Tensor:
    b, n, c = x.shape
    q, k, v = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
    k = torch.cat([pk.expand(b, -1, -1, -1), k], dim=2)
    v = torch.cat([pv.expand(b, -1, -1, -1), v], dim=2)
    weights = (q @ k.transpose(-2, -1) / math.sqrt(attn.head_dim)).softmax(-1)
    return attn.proj((weights @ v).transpose(1, 2).reshape(b, n, c))


def test_prefixed_attention_puts_the_prefixes_in_front_of_keys_and_values() -> None:
    attn = Attention(8, num_heads=2).eval()
    x = torch.randn(2, 5, 8)
    pk, pv = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    close(prefixed_attention(attn, x, pk, pv, None, False, "m"), reference_attention(attn, x, pk, pv),
          "softmax(q [P_k | k]^T / sqrt(d)) [P_v | v]")
    empty = torch.zeros(2, 0, 4)
    close(prefixed_attention(attn, x, empty, empty, None, False, "m"), attn(x), "no prefix: timm's attention")


def test_prefixed_attention_keeps_timm_gate_and_mask_semantics() -> None:
    attn = Attention(8, num_heads=2, gated=True).eval()
    x = torch.randn(1, 4, 8)
    empty = torch.zeros(2, 0, 4)
    close(prefixed_attention(attn, x, empty, empty, None, False, "m"), attn(x), "gated attention: timm's gate")
    mask = torch.tensor([[True, True, False, True]]).expand(4, 4)
    close(prefixed_attention(attn, x, empty, empty, mask, False, "m"), attn(x, attn_mask=mask), "a bool mask")
    with pytest.raises(ValueError, match="prefix-x: is_causal is not supported"):
        prefixed_attention(attn, x, empty, empty, None, True, "prefix-x")


def test_extend_mask_lets_every_query_see_the_prefix() -> None:
    boolean = torch.tensor([[False, True]])
    assert _extend_mask(boolean, 2).tolist() == [[True, True, False, True]]
    additive = torch.tensor([[-1e9, 0.0]])
    assert _extend_mask(additive, 1).tolist() == [[0.0, -1e9, 0.0]]


def test_require_timm_attention_names_the_block() -> None:
    from timm.models.vision_transformer import VisionTransformer
    from vpeft.methods.base import UnsupportedModelError

    vit = VisionTransformer(img_size=16, patch_size=8, embed_dim=8, depth=2, num_heads=2)
    require_timm_attention(vit, "m", "timm ViTs")
    vit.blocks[1].attn = nn.Identity()
    with pytest.raises(UnsupportedModelError, match=r"method 'm' needs timm's Attention at blocks\.1\.attn"):
        require_timm_attention(vit, "m", "timm ViTs")
