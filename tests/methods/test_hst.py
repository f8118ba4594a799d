"""HST: the side network against a re-typing of the official forward, the ViT-B/16 count, BatchNorm state, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from vpeft import methods
from vpeft.methods.counting import parameter_counts

from tests.methods.conftest import make_input, make_vit

Tensor = torch.Tensor
TINY = {"embed_dims": (8, 16), "num_heads": (2, 4), "block_indices": (0, 2)}  # on the depth-3 "patch4-img24" ViT


def analytic_vit_b16(dims: tuple[int, ...] = (32, 48, 64, 72), c: int = 768, blocks_per_stage: int = 3) -> int:
    """The official ViT_HSN's trainable parameters (freeze_vit) without the head, ViT-B/16, default sizes."""
    total = 12 * c  # one meta token per block
    total += 12 * 2 * 2 * c  # the ViT blocks' norm1 / norm2
    for s, d in enumerate(dims):
        total += c * d + d  # T_Bridge
        total += blocks_per_stage * 2 * d  # m_proj_norm of the stage's blocks
        if s == 0:  # Head: conv (no bias), BatchNorm, conv, LayerNorm
            total += 3 * d * 9 + 2 * d + d * d * 4 + d + 2 * d
        else:  # OverlapPatchEmbed: conv 3x3 with bias, LayerNorm
            total += dims[s - 1] * d * 9 + d + 2 * d
        side_block = 2 * 2 * d + 4 * (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
        total += blocks_per_stage * side_block + 2 * d  # M_Blocks and m_norm
    return total


def test_count_on_vit_b16_is_the_official_modules() -> None:
    got = parameter_counts("hst", "vit_base_patch16_224").trainable_excluding_head
    assert got == analytic_vit_b16() == 764_840


def official_forward(model: nn.Module, img: Tensor) -> Tensor:
    """`ViT_HSN.forward_features` + `forward` (AFeng-x/HST@ee89571 models/vit_hsn.py L332-L403, M_Block L200-L205,
    M_C_Attention L147-L162, Mlp_LE L122-L128, Head L273-L280, OverlapPatchEmbed L238-L244), re-typed on our
    modules' weights; eval mode (no dropout, BatchNorm running statistics)."""
    side, cfg = model.hst, model.hst.cfg
    b = img.shape[0]
    x = model.patch_drop(model._pos_embed(model.patch_embed(img)))
    gh, gw = model.patch_embed.grid_size
    meta_g, inter = [], []
    for idx in range(cfg.block_indices[-1] + 1):
        x = torch.cat([side.meta[idx].expand(b, -1, -1), x], dim=1)
        x = model.blocks[idx](x)
        meta_g.append(x[:, :1, :])
        inter.append(x[:, 1 + 1:, :].transpose(1, 2).reshape(b, -1, gh, gw))  # metaG_num + 1: drop the class token
        x = x[:, 1:, :]
    for idx in range(len(meta_g)):  # Meta-Register transform: the stage's T_Bridge, then m_proj_norm{idx+1}
        stage = next(i for i, last in enumerate(cfg.block_indices) if idx <= last)
        meta_g[idx] = side.meta_norms[idx](side.bridges[stage](meta_g[idx]))
    x_m = img
    for i in range(len(cfg.block_indices)):
        embed = side.embeds[i]
        y = embed.conv(x_m)
        h, w = y.shape[-2:]
        x_m = embed.norm(y.flatten(2).transpose(1, 2))
        lo = 0 if i == 0 else cfg.block_indices[i - 1] + 1
        metas, feats = meta_g[lo: cfg.block_indices[i] + 1], inter[lo: cfg.block_indices[i] + 1]
        feats = [side.bridges[i](F.interpolate(f, size=(h, w), mode="bilinear", align_corners=False)
                                 .flatten(2).transpose(1, 2)) for f in feats]
        for j, blk in enumerate(side.stages[i]):
            kv = torch.cat([metas[j], feats[j].mean(dim=1, keepdim=True)], dim=1)
            q_in = blk.norm1(x_m)
            a = blk.attn
            heads = a.heads
            n, d = q_in.shape[1], q_in.shape[2]
            q = a.q(q_in).reshape(b, n, heads, d // heads).permute(0, 2, 1, 3)
            k = a.k(kv).reshape(b, 2, heads, d // heads).permute(0, 2, 1, 3)
            v = a.v(kv).reshape(b, 2, heads, d // heads).permute(0, 2, 1, 3)
            attn = ((q @ k.transpose(-2, -1)) * (d // heads) ** -0.5).softmax(dim=-1)
            x_m = x_m + a.proj((attn @ v).transpose(1, 2).reshape(b, n, d))
            x_m = x_m + feats[j]
            x_m = x_m + blk.mlp.fc2(F.gelu(blk.mlp.fc1(blk.norm2(x_m))))
        x_m = side.norms[i](x_m)
        if i != len(cfg.block_indices) - 1:
            x_m = x_m.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
    return model.head(side.fc_norm(x_m.mean(dim=1)))


@pytest.mark.parametrize("options", [TINY, {**TINY, "block_indices": (1, 2)}])
def test_matches_the_official_forward(options: dict) -> None:
    model = methods.apply(make_vit("patch4-img24"), "hst", **options)
    img = make_input("patch4-img24", batch=4)
    model.train()(img)  # move the BatchNorm statistics away from their init
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(img), official_forward(model, img), atol=1e-5, rtol=1e-5)


def test_head_reads_the_last_stage_and_only_used_blocks_train() -> None:
    model = methods.apply(make_vit("patch4-img24"), "hst", **{**TINY, "block_indices": (0, 1)})
    assert model.head.in_features == 16 and model.head.out_features == 3
    assert model.hst.meta.shape == (2, 1, 32)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "blocks.1.norm2.weight" in trainable and "blocks.2.norm1.weight" not in trainable
    assert not any(n.startswith(("blocks.0.attn", "blocks.1.mlp", "patch_embed", "pos_embed")) for n in trainable)


def test_batchnorm_statistics_are_saved(tmp_path: Path) -> None:
    model = methods.apply(make_vit("patch4-img24"), "hst", **TINY)
    img = make_input("patch4-img24", batch=4)
    model.train()(img)
    methods.save_trained(model, tmp_path / "hst.safetensors")
    loaded = methods.load_trained(make_vit("patch4-img24"), tmp_path / "hst.safetensors")
    assert torch.equal(loaded.hst.fc_norm.running_var, model.hst.fc_norm.running_var)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(img), model.eval()(img))


def test_config_errors() -> None:
    config = methods.get("hst").config
    with pytest.raises(ValueError, match="one entry per stage"):
        config(embed_dims=(8, 16), num_heads=(2,), block_indices=(0, 1))
    with pytest.raises(ValueError, match="increasing"):
        config(embed_dims=(8, 16), num_heads=(2, 2), block_indices=(1, 1))
    with pytest.raises(ValueError, match="multiple of its head count"):
        config(embed_dims=(9, 16), num_heads=(2, 2), block_indices=(0, 1))
    model = make_vit()
    with pytest.raises(ValueError, match="reach past the model's 2 blocks"):
        methods.apply(model, "hst")
    assert methods.applied(model) is None
