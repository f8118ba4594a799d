"""Token grids (Convpass, Mona, DTL+) and attention with key/value prefixes (prefix tuning, E2VPT).

Each expectation is the documented formula written out with plain tensor operations, so a wrong sign, scaling,
slice or initialisation shows as a wrong output.
"""

from __future__ import annotations

import math

import pytest
import torch
from timm.models.vision_transformer import Attention
from torch import nn
from vpeft.methods.layers.prefixed_attention import _extend_mask, prefixed_attention, require_timm_attention
from vpeft.methods.layers.token_grid import QuickGELU, conv_tokens, grid_size, model_grid

from tests.layer_checks import close


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


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
    close(conv_tokens(x, 1, (2, 3), conv, lambda h: h * 0)[:, :1], torch.zeros(2, 1, 4), "a given pointwise map")
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


def test_prefixed_attention_drops_attention_weights_in_training_only() -> None:
    """Prefix tuning / E2VPT with the backbone's attention dropout: active while training, off for evaluation (a
    dropout that ran at test time would make every reported accuracy noisy and lower)."""
    attn = Attention(8, num_heads=2, attn_drop=0.5)
    x = torch.randn(2, 5, 8)
    pk, pv = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    attn.eval()
    close(prefixed_attention(attn, x, pk, pv, None, False, "m"), reference_attention(attn, x, pk, pv),
          "eval mode: no attention dropout, the plain formula")
    attn.train()
    first = prefixed_attention(attn, x, pk, pv, None, False, "m")
    second = prefixed_attention(attn, x, pk, pv, None, False, "m")
    assert not torch.allclose(first, second), "training with attn_drop 0.5: attention dropout must act"


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
