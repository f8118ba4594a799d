"""Mona: count by formula, placement after each residual add, and the patch-grid / prefix-token handling."""

from __future__ import annotations

import timm
import torch
from vpeft import methods
from vpeft.methods.mona import MonaConfig, MonaLayer

from tests.methods.conftest import make_input, make_vit
from tests.methods.hooks import recording
from tests.methods.published import vit_b16_trainable


def mona_count(c: int, r: int, kernels: tuple[int, ...]) -> int:
    scaled_norm = 4 * c  # LayerNorm weight and bias, gamma, gammax
    convs = sum(r * k * k + r for k in kernels) + r * r + r  # depth-wise convs and the 1x1 projector
    return scaled_norm + (c * r + r) + convs + (r * c + c)


def test_count_by_formula_on_vit_b16() -> None:
    with torch.device("meta"):
        vit = timm.create_model("vit_base_patch16_224", pretrained=False)
    cfg = MonaConfig()
    expected = 2 * len(vit.blocks) * mona_count(vit.embed_dim, cfg.dim, cfg.kernels)
    assert vit_b16_trainable("mona") == expected
    assert vit_b16_trainable("mona", kernels=(3,)) == 2 * len(vit.blocks) * mona_count(vit.embed_dim, cfg.dim, (3,))


def test_monas_follow_the_residual_adds() -> None:
    model = methods.apply(make_vit(), "mona")
    blk = model.blocks[1]
    mods = {"block": blk, "norm2": blk.norm2, "mona_attn": blk.mona_attn, "mona_mlp": blk.mona_mlp, "mlp": blk.mlp}
    with torch.no_grad(), recording(mods) as seen:
        model(make_input())
    assert torch.equal(seen["mona_attn"][1], seen["norm2"][0])  # the MLP branch reads Mona 1's output
    assert torch.equal(seen["mona_mlp"][0], seen["mona_attn"][1] + seen["mlp"][1])
    assert torch.equal(seen["block"][1], seen["mona_mlp"][1])


def test_convs_see_the_patch_grid_and_leave_prefix_tokens_apart() -> None:
    torch.manual_seed(0)
    grid, n_prefix, c = (8, 8), 1, 16
    layer = MonaLayer(c, MonaConfig(dim=4), n_prefix, grid).eval()
    x = torch.randn(1, n_prefix + 64, c)
    changed = x.clone()
    changed[0, n_prefix + 0] += 1.0  # the patch at grid position (0, 0)
    changed[0, 0] += 1.0  # and the class token
    with torch.no_grad():
        diff = (layer(changed) - layer(x)).abs().amax(-1)[0]
    patch_diff = diff[n_prefix:].reshape(grid)
    # a 7x7 kernel reaches 3 grid steps; the 1x1 projector and the linears act per token
    assert (patch_diff[:4, :4] > 0).all()
    assert (patch_diff[4:, :] == 0).all() and (patch_diff[:, 4:] == 0).all()
    assert diff[0] > 0  # the class token changed only itself


def test_gamma_start_and_scaled_norm() -> None:
    model = methods.apply(make_vit(), "mona")
    mona = model.blocks[0].mona_attn
    assert torch.all(mona.gamma == 1e-6) and torch.all(mona.gammax == 1)
