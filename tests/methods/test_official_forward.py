"""Our forward pass against independent re-implementations of the official forwards (issue 11, item 1).

Each `official_*` function below is written from reading the official code at the cited commit, on the plain timm
modules of the same tiny backbone (patch embedding, attention weights, MLP, norms, head); only the method's part is
re-typed from the official source. Our model and the reference get the same weights; where the official code draws
dropout masks in the same order as ours, the check runs in train mode with the same seed, so the masks (one per
example for VPT) are compared too.

Sources (https://github.com/<repo>/blob/<commit>/<path>):
- NOAH: ZhangYuanhan-AI/NOAH e9c55f360be4f7f1133a08bf84f86f0309e98f8c, model/supernet_vision_transformer_timm.py
  (Attention.forward L272-L297, Block.forward L354-L366, set_sample_config L586-L607, forward_features
  L625-L648), model/module/adapter_super.py (L8-L74).
- V-PETL Bench: synbol/Parameter-Efficient-Transfer-Learning-Benchmark c188fad2930fa2d1c07a8a64848427fd24ce6006,
  ImageClassification/models/vision_transformer_{lora (L110-L121), adapter (L196-L266), adaptformer (L196-L290)}.py.
- VPT: KMnP/vpt 4410440ec1b489f24f66b9fad3d9b10ff3443567, src/models/vit_prompt/vit.py (L75-L130).
- AdaptFormer: ShoufaChen/AdaptFormer 6967d676c1a5e5a11be2e2768a6e5c604bb043ed, models/adapter.py (L50-L70),
  models/custom_modules.py (L76-L94).
- FacT, Convpass: JieShibo/PETL-ViT 026e4f12cfbe1e46bfb4d3ed5ba09f2d9f83e91e, FacT/fact_tk.py (L59-L136),
  FacT/fact_tt.py (L60-L128), convpass/vtab/convpass.py (L7-L10, L101-L149).
- Mona: Leiyi-Hu/mona 5deeac9f4fc5e788b7fa0132ec568cd256afca12,
  Swin-Transformer-Classification/mmcls/models/backbones/swin_transformer_mona.py (L27-L84, L325-L342).
- RepAdapter: luogen1996/RepAdapter 360992fc2a36f069fd168754f14bc1986d869a8f, repadapter.py (L21-L24, L147-L172).
- SSF: dongzelian/SSF e94e0e704a4ece1986a537c97a95158b46838f71, models/vision_transformer.py (L157-L259, L358-L395,
  L520-L535).
- E2VPT: ChengHan111/E2VPT 7a66e75eef6b7e15df83463d31b60eba5938d208, src/models/vit_prompt/vit_prompt_VK.py
  (L134, L172-L200), src/models/vit_backbones/vit_changeVK.py (Attention.forward L236-L309).
- SCT: showlab/SCT 384cecb572c907022a35d2afd19a659412c12c0f, models/vision_transformer_sct.py (L272-L307, L340-L346).
- Hydra: extremebird/Hydra 4138457859666d49b9ca9e45473d8570586670bb, vtab1k/hydra.py (L8-L61).
- DTL: heekhero/DTL bf6c51e679d7d2244f4c8337cb68a85b54e7c37a, models/vision_transformer.py (L424-L449).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from vpeft import methods

from tests.methods.conftest import make_family_model, make_input, make_vit

Tensor = torch.Tensor


# ---- plain backbone pieces shared by the references (timm's, not the method's) ----


def embed(model: nn.Module, img: Tensor) -> Tensor:
    """Patch embedding, class token and position embedding (official: `pos_drop(cat(cls, x) + pos_embed)`)."""
    return model.norm_pre(model.patch_drop(model._pos_embed(model.patch_embed(img))))


def attention(attn: nn.Module, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """softmax(q k^T * scale) v on (B, heads, N, head_dim) tensors, heads merged, then proj."""
    b, _, n, _ = q.shape
    weights = ((q @ k.transpose(-2, -1)) * attn.scale).softmax(dim=-1)
    return attn.proj((weights @ v).transpose(1, 2).reshape(b, n, -1))


def heads(t: Tensor, attn: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
    """(B, N, 3C) -> q, k, v of shape (B, heads, N, head_dim), as `reshape(B, N, 3, H, C // H).permute(...)`."""
    b, n, c3 = t.shape
    q, k, v = t.reshape(b, n, 3, attn.num_heads, c3 // 3 // attn.num_heads).permute(2, 0, 3, 1, 4)
    return q, k, v


def cls_head(model: nn.Module, x: Tensor) -> Tensor:
    """Final norm, class token, head (the official ViTs' "token" pooling)."""
    return model.head(model.norm(x)[:, 0])


def run_both(
    ours: nn.Module, reference: Callable[[], Tensor], img: Tensor, train: bool, seed: int = 7
) -> tuple[Tensor, Tensor]:
    """Our output and the reference's under the same seed (train mode: dropout masks drawn in the same order)."""
    ours.train(train)
    torch.manual_seed(seed)
    got = ours(img)
    torch.manual_seed(seed)
    want = reference()
    return got, want


# ---- LoRA: NOAH (fused qkv, one pair, dropout on the input, no scaling) and V-PETL Bench (q and v pairs) ----


def official_noah_lora(plain: nn.Module, img: Tensor, a: list[Tensor], b: list[Tensor], drop: nn.Module) -> Tensor:
    x = embed(plain, img)
    for i, blk in enumerate(plain.blocks):
        h = blk.norm1(x)
        q, k, v = heads(blk.attn.qkv(h), blk.attn)
        dq, dk, dv = heads(F.linear(F.linear(drop(h), a[i]), b[i]), blk.attn)  # LoRA_b(LoRA_a(LoRA_drop(x)))
        x = x + attention(blk.attn, q + dq, k + dk, v + dv)
        x = x + blk.mlp(blk.norm2(x))
    return cls_head(plain, x)


def official_vpetl_lora(plain: nn.Module, img: Tensor, pairs: list[tuple[Tensor, Tensor, Tensor, Tensor]]) -> Tensor:
    x = embed(plain, img)
    for blk, (a_q, b_q, a_v, b_v) in zip(plain.blocks, pairs, strict=True):
        h = blk.norm1(x)
        qkv = blk.attn.qkv(h).clone()
        dim = h.shape[-1]
        qkv[:, :, :dim] += F.linear(F.linear(h, a_q), b_q)  # linear_b_q(linear_a_q(x))
        qkv[:, :, -dim:] += F.linear(F.linear(h, a_v), b_v)
        x = x + attention(blk.attn, *heads(qkv, blk.attn))
        x = x + blk.mlp(blk.norm2(x))
    return cls_head(plain, x)


@pytest.mark.parametrize("train", [False, True])
def test_lora_noah_setting_matches_noah_forward(train: bool) -> None:
    model = methods.apply(make_vit(), "lora", target="qkv", dropout=0.1, init="official-reinit")
    layers = [blk.attn.qkv for blk in model.blocks]
    a, b = [layer.lora_A[0] for layer in layers], [layer.lora_B[0] for layer in layers]
    img = make_input(batch=3)
    drop, plain = nn.Dropout(0.1).train(train), make_vit()  # built first: make_vit seeds the generator
    with torch.no_grad():
        got, want = run_both(model, lambda: official_noah_lora(plain, img, a, b, drop), img, train)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got, make_vit()(img), atol=1e-3)  # the re-initialised B is not zero


def test_lora_vpetl_setting_matches_vpetl_forward() -> None:
    model = methods.apply(make_vit(), "lora", target="q,v", init="official-reinit").eval()
    pairs = [(m.lora_A[0], m.lora_B[0], m.lora_A[1], m.lora_B[1]) for m in (blk.attn.qkv for blk in model.blocks)]
    img = make_input()
    with torch.no_grad():
        torch.testing.assert_close(model(img), official_vpetl_lora(make_vit(), img, pairs), atol=1e-5, rtol=1e-5)


# ---- Adapter: NOAH (QuickGELU, dropout, adapter on drop_path(mlp)) and V-PETL Bench (GELU, inside drop-path) ----


class DropFirstExample(nn.Module):
    """A deterministic stand-in for drop-path: drops example 0 of the batch, keeps the others unscaled."""

    def forward(self, x: Tensor) -> Tensor:
        keep = torch.ones(x.shape[0], *([1] * (x.ndim - 1)), dtype=x.dtype)
        keep[0] = 0
        return x * keep


def adapter_weights(model: nn.Module) -> list[tuple[Tensor, Tensor, Tensor, Tensor]]:
    out = []
    for blk in model.blocks:
        bn = blk.adapter_houlsby_mlp
        with torch.no_grad():  # trained-looking biases, so that adapter(0) != 0 shows NOAH's drop-path placement
            bn.down.bias.normal_(0, 0.5)
            bn.up.bias.normal_(0, 0.5)
        out.append((bn.down.weight, bn.down.bias, bn.up.weight, bn.up.bias))
    return out


def official_noah_adapter(plain: nn.Module, img: Tensor, weights: list, drop: nn.Module, dp: nn.Module) -> Tensor:
    x = embed(plain, img)
    for blk, (w1, b1, w2, b2) in zip(plain.blocks, weights, strict=True):
        x = x + dp(blk.attn(blk.norm1(x)))
        y = dp(blk.mlp(blk.norm2(x)))  # x = x + self.adapter(self.drop_path(self.mlp(self.norm2(x))))
        h = F.linear(y, w1, b1)
        h = drop(h * torch.sigmoid(1.702 * h))  # QuickGELU, then Dropout(drop_rate_adapter)
        x = x + (y + F.linear(h, w2, b2))  # AdapterSuper: identity + out
    return cls_head(plain, x)


def official_vpetl_adapter(plain: nn.Module, img: Tensor, weights: list, dp: nn.Module) -> Tensor:
    x = embed(plain, img)
    for blk, (w1, b1, w2, b2) in zip(plain.blocks, weights, strict=True):
        x = x + dp(blk.attn(blk.norm1(x)))
        y = blk.mlp(blk.norm2(x))
        y = y + F.linear(F.gelu(F.linear(y, w1, b1)), w2, b2)  # adapter_module(x): adpt + x
        x = x + dp(y)  # drop_path2 after the adapter, then + h
    return cls_head(plain, x)


@pytest.mark.parametrize("train", [False, True])
def test_adapter_noah_setting_matches_noah_forward(train: bool) -> None:
    options = dict(act="quick_gelu", dropout=0.1, drop_path_position="before", init="official-reinit")
    model = methods.apply(make_vit(), "adapter-houlsby", **options)
    for blk in model.blocks:
        blk.drop_path1 = blk.drop_path2 = DropFirstExample()
    weights = adapter_weights(model)
    img = make_input(batch=3)
    drop, plain = nn.Dropout(0.1).train(train), make_vit()
    with torch.no_grad():
        reference = lambda: official_noah_adapter(plain, img, weights, drop, DropFirstExample())  # noqa: E731
        got, want = run_both(model, reference, img, train)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_adapter_vpetl_setting_matches_vpetl_forward() -> None:
    model = methods.apply(make_vit(), "adapter-houlsby", init="official-reinit").eval()
    for blk in model.blocks:
        blk.drop_path1 = blk.drop_path2 = DropFirstExample()
    weights = adapter_weights(model)
    img = make_input(batch=3)
    with torch.no_grad():
        want = official_vpetl_adapter(make_vit(), img, weights, DropFirstExample())
        torch.testing.assert_close(model(img), want, atol=1e-5, rtol=1e-5)
        noah_placement = methods.apply(
            make_vit(), "adapter-houlsby", init="official-reinit", drop_path_position="before"
        )
        for blk, w in zip(noah_placement.blocks, weights, strict=True):
            blk.drop_path1 = blk.drop_path2 = DropFirstExample()
            bn = blk.adapter_houlsby_mlp
            for p, v in zip((bn.down.weight, bn.down.bias, bn.up.weight, bn.up.bias), w, strict=True):
                p.copy_(v)
        assert not torch.allclose(noah_placement.eval()(img)[0], want[0], atol=1e-4)  # dropped example differs


# ---- VPT-Deep: prompts after the class token, replaced before every block, dropout per example ----


def official_vpt_deep(plain: nn.Module, img: Tensor, prompts: list[Tensor], drop: nn.Module) -> Tensor:
    b, n = img.shape[0], prompts[0].shape[0]
    x = embed(plain, img)
    x = torch.cat((x[:, :1], drop(prompts[0].unsqueeze(0).expand(b, -1, -1)), x[:, 1:]), dim=1)  # incorporate_prompt
    for i, blk in enumerate(plain.blocks):
        if i > 0:  # forward_deep_prompt: deep_prompt_embeddings[i-1], dropout after expand
            deep = drop(prompts[i].unsqueeze(0).expand(b, -1, -1))
            x = torch.cat((x[:, :1], deep, x[:, 1 + n :]), dim=1)
        x = blk(x)
    return plain.head(plain.norm(x)[:, 0])  # encoder_norm, then the class token


@pytest.mark.parametrize("train", [False, True])
def test_vpt_deep_matches_official_forward_including_dropout_masks(train: bool) -> None:
    model = methods.apply(make_vit(), "vpt-deep", num_tokens=4, dropout=0.5)
    prompts = [blk.vpt_prompt for blk in model.blocks]
    img = make_input(batch=3)
    drop, plain = nn.Dropout(0.5).train(train), make_vit()
    with torch.no_grad():
        got, want = run_both(model, lambda: official_vpt_deep(plain, img, prompts, drop), img, train)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


# ---- AdaptFormer: official image setting and V-PETL Bench's VTAB setting ----


def official_adaptformer(
    plain: nn.Module, img: Tensor, adapters: list[nn.Module], scale: float, ln: bool, drop_p: float
) -> Tensor:
    x = embed(plain, img)
    for blk, ad in zip(plain.blocks, adapters, strict=True):
        x = x + blk.attn(blk.norm1(x))
        h = ad.norm(x) if ln else x  # adapter_layernorm_option "in" / "none"
        h = F.dropout(F.relu(ad.bottleneck.down(h)), p=drop_p, training=blk.training)
        adapt_x = ad.bottleneck.up(h) * scale  # add_residual=False
        x = x + blk.mlp(blk.norm2(x)) + adapt_x  # residual + drop_path(mlp(...)) + adapt_x
    return cls_head(plain, x)


@pytest.mark.parametrize(
    ("options", "scale", "ln"),
    [
        ({}, 0.1, False),  # official main_image.py: scalar 0.1, no LayerNorm
        ({"scale": 1.0, "layernorm": "in", "init": "official-reinit"}, 1.0, True),  # V-PETL Bench VTAB
    ],
)
@pytest.mark.parametrize("train", [False, True])
def test_adaptformer_matches_official_forward(options: dict, scale: float, ln: bool, train: bool) -> None:
    model = methods.apply(make_vit(), "adaptformer", **options)
    adapters = [blk.adaptformer for blk in model.blocks]
    with torch.no_grad():
        for ad in adapters:  # a trained-looking up projection, so the branch contributes
            ad.bottleneck.up.weight.normal_(0, 0.2)
        img = make_input(batch=3)
        plain = make_vit().train(train)
        got, want = run_both(model, lambda: official_adaptformer(plain, img, adapters, scale, ln, 0.1), img, train)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


# ---- FacT-TK: the official fact_tk.py forwards, MLP slices from the official reshape ----


def official_fact_tk(plain: nn.Module, img: Tensor, u: Tensor, v: Tensor, core: Tensor, p: Tensor, s: float) -> Tensor:
    def fu(h: Tensor) -> Tensor:  # vit.FacTu = Linear(C, r, bias=False), weight (r, C)
        return h @ u.T

    def fv(h: Tensor) -> Tensor:  # vit.FacTv = Linear(r, C, bias=False), weight (C, r)
        return h @ v.T

    r = core.shape[0]
    x = embed(plain, img)
    for i, blk in enumerate(plain.blocks):
        idx = 12 * i  # set_FacT: attention takes 4 columns of FacTp, then the MLP 8
        h = blk.norm1(x)
        t = core @ p[:, idx : idx + 4]  # fact_forward_attn
        qkv = blk.attn.qkv(h) + torch.cat([fv(fu(h) @ t[:, :, j]) for j in range(3)], dim=2) * s
        q, k, vv = heads(qkv, blk.attn)
        bsz, n, c = h.shape
        o = ((q @ k.transpose(-2, -1)) * blk.attn.scale).softmax(dim=-1) @ vv
        o = o.transpose(1, 2).reshape(bsz, n, c)
        x = x + blk.attn.proj(o) + fv(fu(o) @ t[:, :, 3]) * s
        h = blk.norm2(x)
        t = core @ p[:, idx + 4 : idx + 12]  # fact_forward_mlp
        fc1_c, fc2_c = t[:, :, :4].reshape(r, r * 4), t[:, :, 4:].reshape(r, r * 4)
        z = blk.mlp.fc1(h) + fv((fu(h) @ fc1_c).reshape(bsz, n, 4, r)).reshape(bsz, n, 4 * c) * s
        z = blk.mlp.act(z)
        z4 = z.reshape(bsz, n, 4, c)
        x = x + blk.mlp.fc2(z) + fv(fu(z4).reshape(bsz, n, 4 * r) @ fc2_c.t()) * s
    return cls_head(plain, x)


def test_fact_tk_matches_official_forward() -> None:
    model = methods.apply(make_vit(), "fact", variant="tk", rank=4, scale=3.0).eval()
    shared = model.fact_shared
    with torch.no_grad():
        shared.v.normal_(0, 0.3)  # trained-looking V (zero at init)
        img = make_input()
        want = official_fact_tk(make_vit(), img, shared.u, shared.v, shared.core, shared.p, 3.0)
        torch.testing.assert_close(model(img), want, atol=1e-5, rtol=1e-5)
        per_slice = methods.apply(make_vit(), "fact", variant="tk", rank=4, scale=3.0, tk_layout="per-slice")
        per_slice.fact_shared.load_state_dict(shared.state_dict())
        assert not torch.allclose(per_slice.eval()(img), want, atol=1e-3)  # a different function of (C, P)


# ---- Mona: sequential after each residual add (no class token: the Swin code has none) ----


def official_mona(mona: nn.Module, x: Tensor, hw: tuple[int, int]) -> Tensor:
    """`Mona.forward` on our layer's weights (`MonaOp` inline)."""
    identity = x
    x = mona.norm(x) * mona.gamma + x * mona.gammax
    bn = mona.bottleneck
    p1 = bn.down(x)
    b, n, c = p1.shape
    g = p1.reshape(b, *hw, c).permute(0, 3, 1, 2)
    convs = bn.mid.conv
    g = sum(conv(g) for conv in convs.dwconvs) / 3.0 + g  # (conv1 + conv2 + conv3) / 3 + identity
    g = g + convs.projector(g)
    p1 = g.permute(0, 2, 3, 1).reshape(b, n, c)
    return identity + bn.up(bn.dropout(F.gelu(p1)))


def test_mona_matches_official_forward() -> None:
    variant = "avgpool-no-cls"
    model = methods.apply(make_vit(variant), "mona").eval()
    plain = make_vit(variant)
    hw = plain.patch_embed.grid_size
    img = make_input(variant)
    with torch.no_grad():
        x = embed(plain, img)
        for blk, mine in zip(plain.blocks, model.blocks, strict=True):
            x = official_mona(mine.mona_attn, x + blk.attn(blk.norm1(x)), hw)  # my_module_1 after the attn add
            x = official_mona(mine.mona_mlp, x + blk.mlp(blk.norm2(x)), hw)  # my_module_2 after the MLP add
        torch.testing.assert_close(model(img), plain.forward_head(plain.norm(x)), atol=1e-5, rtol=1e-5)


def test_mona_on_swin_matches_official_forward() -> None:
    """The official code's own backbone: `SwinTransformerBlock.forward` L269-L342 (window attention as timm's
    `_attn`; Mona on the (B, H*W, C) stream with the stage's (H, W) after each residual add)."""
    model = methods.apply(make_family_model("swin"), "mona").eval()
    plain = make_family_model("swin")
    img = make_input("swin")
    with torch.no_grad():
        x = plain.patch_embed(img)
        for stage, mine_stage in zip(plain.layers, model.layers, strict=True):
            x = stage.downsample(x)
            for blk, mine in zip(stage.blocks, mine_stage.blocks, strict=True):
                b, h, w, c = x.shape
                t = (x + blk._attn(blk.norm1(x))).reshape(b, h * w, c)
                t = official_mona(mine.mona_attn, t, (h, w))  # my_module_1
                t = official_mona(mine.mona_mlp, t + blk.mlp(blk.norm2(t)), (h, w))  # my_module_2
                x = t.reshape(b, h, w, c)
        torch.testing.assert_close(model(img), plain.forward_head(plain.norm(x)), atol=1e-5, rtol=1e-5)


# ---- RepAdapter (bias=True: the official module): Conv1d A, grouped Conv1d B, before qkv and fc1 ----


def official_repadapter(ad: nn.Module, x: Tensor, groups: int) -> Tensor:
    h = x.transpose(1, 2)  # (B, C, N)
    a = F.conv1d(h, ad.down.weight.unsqueeze(-1), ad.down.bias)
    out = F.conv1d(ad.dropout(a), ad.up_weight.unsqueeze(-1), ad.up_bias, groups=groups) * ad.scale + h
    return out.transpose(1, 2)


def test_repadapter_with_biases_matches_official_forward() -> None:
    model = methods.apply(make_vit(), "repadapter", bias=True, scale=0.5, dim=4).eval()
    plain = make_vit()
    img = make_input()
    with torch.no_grad():
        for blk in model.blocks:
            for layer in (blk.attn.qkv, blk.mlp.fc1):
                layer.repadapter.up_weight.normal_(0, 0.2)
                layer.repadapter.up_bias.normal_(0, 0.2)
        x = embed(plain, img)
        for blk, mine in zip(plain.blocks, model.blocks, strict=True):
            x = x + blk.attn(official_repadapter(mine.attn.qkv.repadapter, blk.norm1(x), 2))
            x = x + blk.mlp(official_repadapter(mine.mlp.fc1.repadapter, blk.norm2(x), 2))
        torch.testing.assert_close(model(img), cls_head(plain, x), atol=1e-5, rtol=1e-5)


# ---- DTL: running low-rank sum, swish additions, official pooling (mean of patch tokens, then norm) ----


def test_dtl_matches_official_forward_with_official_pooling() -> None:
    model = methods.apply(make_vit(), "dtl", beta=3.0).eval()
    side = model.dtl
    plain = make_vit()
    img = make_input()
    with torch.no_grad():
        side.B.normal_(0, 0.5)
        x = embed(plain, img)
        residuals: Tensor | float = 0.0
        depth = len(plain.blocks)
        for bid, blk in enumerate(plain.blocks):
            residuals = residuals + x @ side.A[bid].T @ side.B[bid].T  # lora_dict[bid](x)
            x = blk(x)
            if bid >= depth // 2:  # add_after_blocks: the second half
                x = x + residuals * torch.sigmoid(3.0 * residuals)  # swish(residuals, beta)
        want = plain.head(plain.norm(x[:, 1:].mean(dim=1)))  # x[:, num_tokens:].mean(1), norm, head
        torch.testing.assert_close(model(img), want, atol=1e-5, rtol=1e-5)


# ---- FacT-TT: the official fact_tt.py forwards (per-layer *_FacTs Linear cores) ----


def official_fact_tt(plain: nn.Module, img: Tensor, model: nn.Module, s: float) -> Tensor:
    u, v = model.fact_shared.u, model.fact_shared.v

    def fu(h: Tensor) -> Tensor:
        return h @ u.T

    def fv(h: Tensor) -> Tensor:
        return h @ v.T

    x = embed(plain, img)
    for blk, mine in zip(plain.blocks, model.blocks, strict=True):
        qkv_c, proj_c = mine.attn.qkv.fact_cores, mine.attn.proj.fact_cores
        fc1_w = torch.cat(list(mine.mlp.fc1.fact_cores), dim=0)  # fc1_FacTs = Linear(r, 4r): weight (4r, r)
        fc2_w = torch.cat(list(mine.mlp.fc2.fact_cores), dim=1)  # fc2_FacTs = Linear(4r, r): weight (r, 4r)
        h = blk.norm1(x)
        bsz, n, c = h.shape
        qkv = blk.attn.qkv(h) + torch.cat([fv(F.linear(fu(h), qkv_c[j])) for j in range(3)], dim=2) * s
        q, k, vv = heads(qkv, blk.attn)
        o = (((q @ k.transpose(-2, -1)) * blk.attn.scale).softmax(dim=-1) @ vv).transpose(1, 2).reshape(bsz, n, c)
        x = x + blk.attn.proj(o) + fv(F.linear(fu(o), proj_c[0])) * s
        h = blk.norm2(x)
        r = u.shape[0]
        z = blk.mlp.fc1(h) + fv(F.linear(fu(h), fc1_w).reshape(bsz, n, 4, r)).reshape(bsz, n, 4 * c) * s
        z = blk.mlp.act(z)
        x = x + blk.mlp.fc2(z) + fv(F.linear(fu(z.reshape(bsz, n, 4, c)).reshape(bsz, n, 4 * r), fc2_w)) * s
    return cls_head(plain, x)


def test_fact_tt_matches_official_forward() -> None:
    model = methods.apply(make_vit(), "fact", variant="tt", rank=4, scale=2.0).eval()
    with torch.no_grad():
        model.fact_shared.v.normal_(0, 0.3)
        img = make_input()
        torch.testing.assert_close(model(img), official_fact_tt(make_vit(), img, model, 2.0), atol=1e-5, rtol=1e-5)


# ---- Convpass: conv bypasses beside attention and MLP, class token convolved as a 1x1 image ----


def official_convpass(ad: nn.Module, x: Tensor, grid: tuple[int, int]) -> Tensor:
    """`Convpass.forward` (14 x 14 there; the tiny backbone's grid here) on our module's weights."""
    b, _, _ = x.shape
    d = ad.down.out_features
    x_down = ad.down(x)
    x_down = x_down * torch.sigmoid(1.702 * x_down)  # QuickGELU
    x_patch = ad.conv(x_down[:, 1:].reshape(b, *grid, d).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(b, -1, d)
    x_cls = ad.conv(x_down[:, :1].reshape(b, 1, 1, d).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(b, 1, d)
    x_down = torch.cat([x_cls, x_patch], dim=1)
    x_down = x_down * torch.sigmoid(1.702 * x_down)
    return ad.up(ad.dropout(x_down))


@pytest.mark.parametrize("train", [False, True])
def test_convpass_matches_official_forward(train: bool) -> None:
    model = methods.apply(make_vit(), "convpass", scale=0.7, xavier_init=True)
    plain = make_vit()
    grid = plain.patch_embed.grid_size
    with torch.no_grad():
        for blk in model.blocks:
            blk.convpass_attn.up.weight.normal_(0, 0.3)
            blk.convpass_mlp.up.weight.normal_(0, 0.3)

    def reference() -> Tensor:
        x = embed(plain, img)
        for blk, mine in zip(plain.blocks, model.blocks, strict=True):  # forward_block
            x = x + blk.attn(blk.norm1(x)) + official_convpass(mine.convpass_attn, blk.norm1(x), grid) * 0.7
            x = x + blk.mlp(blk.norm2(x)) + official_convpass(mine.convpass_mlp, blk.norm2(x), grid) * 0.7
        return cls_head(plain, x)

    img = make_input(batch=3)
    with torch.no_grad():
        got, want = run_both(model, reference, img, train)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


# ---- Hydra: parallel and sequential low-rank branches on attn.proj and mlp.fc2 ----


def official_hydra_layer(branch: nn.Module, x: Tensor, scale: float) -> Tensor:
    """`Hydra_layer.forward`: up_proj(dropout(down_proj(x))) * scale, on our branch's weights."""
    return branch.up(branch.dropout(branch.down(x))) * scale


@pytest.mark.parametrize("train", [False, True])
def test_hydra_matches_official_forward(train: bool) -> None:
    model = methods.apply(make_vit(), "hydra", dim=2, scale=0.5, dropout=0.2)
    plain = make_vit()
    with torch.no_grad():
        for blk in model.blocks:
            for layer in (blk.attn.proj, blk.mlp.fc2):
                layer.hydra_par.up.weight.normal_(0, 0.3)
                layer.hydra_seq.up.weight.normal_(0, 0.3)

    def reference() -> Tensor:
        x = embed(plain, img)
        for blk, mine in zip(plain.blocks, model.blocks, strict=True):
            h = blk.norm1(x)  # forward_vit_hydra_attn
            q, k, v = heads(blk.attn.qkv(h), blk.attn)
            o = (((q @ k.transpose(-2, -1)) * blk.attn.scale).softmax(dim=-1) @ v).transpose(1, 2).reshape(h.shape)
            par = official_hydra_layer(mine.attn.proj.hydra_par, o, 0.5)
            o = blk.attn.proj(o)
            x = x + o + par + official_hydra_layer(mine.attn.proj.hydra_seq, o, 0.5)
            z = blk.mlp.act(blk.mlp.fc1(blk.norm2(x)))  # forward_vit_hydra_ffn
            par = official_hydra_layer(mine.mlp.fc2.hydra_par, z, 0.5)
            z = blk.mlp.fc2(z)
            x = x + z + par + official_hydra_layer(mine.mlp.fc2.hydra_seq, z, 0.5)
        return cls_head(plain, x)

    img = make_input(batch=3)
    with torch.no_grad():
        got, want = run_both(model, reference, img, train)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


# ---- SSF: scale and shift after patch embedding, norm1, qkv, proj, norm2, fc1, fc2 and the final norm ----


def official_ssf(plain: nn.Module, img: Tensor, model: nn.Module) -> Tensor:
    def ada(x: Tensor, name: str) -> Tensor:  # ssf_ada(x, scale, shift) = x * scale + shift
        wrapper = model.get_submodule(name)
        return x * wrapper.ssf_scale + wrapper.ssf_shift

    pe = plain.patch_embed
    x = ada(pe.proj(img).flatten(2).transpose(1, 2), "patch_embed.proj")  # PatchEmbed: proj, flatten, ssf_ada
    x = torch.cat((plain.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + plain.pos_embed
    for i, blk in enumerate(plain.blocks):
        h = ada(blk.norm1(x), f"blocks.{i}.norm1")
        q, k, v = heads(ada(blk.attn.qkv(h), f"blocks.{i}.attn.qkv"), blk.attn)
        o = (((q @ k.transpose(-2, -1)) * blk.attn.scale).softmax(dim=-1) @ v).transpose(1, 2).reshape(h.shape)
        x = x + ada(blk.attn.proj(o), f"blocks.{i}.attn.proj")
        h = ada(blk.norm2(x), f"blocks.{i}.norm2")
        z = blk.mlp.act(ada(blk.mlp.fc1(h), f"blocks.{i}.mlp.fc1"))
        x = x + ada(blk.mlp.fc2(z), f"blocks.{i}.mlp.fc2")
    return plain.head(ada(plain.norm(x), "norm")[:, 0])  # norm, ssf_ada, class token, head


def test_ssf_matches_official_forward() -> None:
    model = methods.apply(make_vit(), "ssf", init_std=0.3).eval()  # a wide init: far from the identity
    img = make_input()
    with torch.no_grad():
        torch.testing.assert_close(model(img), official_ssf(make_vit(), img, model), atol=1e-5, rtol=1e-5)


# ---- E2VPT (no pruning): VPT-deep visual prompts plus shared key-value prompts in front of keys and values ----


def official_e2vpt(plain: nn.Module, img: Tensor, model: nn.Module, drop_p: nn.Module, drop_kv: nn.Module) -> Tensor:
    b = img.shape[0]
    n = model.blocks[0].vpt_prompt.shape[0]
    x = embed(plain, img)
    for i, (blk, mine) in enumerate(zip(plain.blocks, model.blocks, strict=True)):
        prompts = drop_p(mine.vpt_prompt.unsqueeze(0).expand(b, -1, -1))  # prompt_dropout after expand
        x = torch.cat((x[:, :1], prompts, x[:, 1 if i == 0 else 1 + n :]), dim=1)
        h = blk.norm1(x)
        q, k, v = heads(blk.attn.qkv(h), blk.attn)
        shared = mine.attn.e2vpt.e2vpt_kv[0]  # deep_QKV_embeddings (SHARE_PARAM_KV), LAYER_BEHIND: prompt first
        k = torch.cat((drop_kv(shared.expand(b, -1, -1, -1)), k), dim=2)
        v = torch.cat((drop_kv(shared.expand(b, -1, -1, -1)), v), dim=2)
        x = x + attention(blk.attn, q, k, v)
        x = x + blk.mlp(blk.norm2(x))
    return plain.head(plain.norm(x)[:, 0])


@pytest.mark.parametrize("train", [False, True])
def test_e2vpt_matches_official_forward_including_dropout_masks(train: bool) -> None:
    model = methods.apply(make_vit(), "e2vpt", num_tokens=3, num_kv_tokens=2, dropout=0.3, kv_dropout=0.4)
    drop_p, drop_kv, plain = nn.Dropout(0.3).train(train), nn.Dropout(0.4).train(train), make_vit()
    img = make_input(batch=3)
    with torch.no_grad():
        got, want = run_both(model, lambda: official_e2vpt(plain, img, model, drop_p, drop_kv), img, train)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


# ---- SCT: a linear map on the salient channels of the residual stream after the attention add ----


def test_sct_matches_official_forward() -> None:
    channels = ((3, 17, 40, 5, 22, 9), (0, 47, 12, 30, 8, 21))  # one salient set per layer (2 layers, 6 of 48)
    model = methods.apply(make_vit(), "sct", channels=channels).eval()
    plain = make_vit()
    img = make_input()
    with torch.no_grad():
        for blk in model.blocks:
            blk.sct.linear.bias.normal_(0, 0.1)
        x = embed(plain, img)
        for blk, mine, idx in zip(plain.blocks, model.blocks, channels, strict=True):
            x = x + blk.attn(blk.norm1(x))
            x = x.clone()
            x[..., list(idx)] += mine.sct.linear(x[..., list(idx)])  # ChannelAdapter: x[..., idx] += adapt_linear(.)
            x = x + blk.mlp(blk.norm2(x))
        torch.testing.assert_close(model(img), cls_head(plain, x), atol=1e-5, rtol=1e-5)


# ---- VPT-Shallow: prompts inserted once after the class token and kept through every block ----


@pytest.mark.parametrize("train", [False, True])
def test_vpt_shallow_matches_official_forward(train: bool) -> None:
    model = methods.apply(make_vit(), "vpt-shallow", num_tokens=5, dropout=0.5)
    prompt, drop, plain = model.blocks[0].vpt_prompt, nn.Dropout(0.5).train(train), make_vit()
    img = make_input(batch=3)

    def reference() -> Tensor:  # incorporate_prompt, then the encoder (no deep prompts), encoder_norm, class token
        x = embed(plain, img)
        x = torch.cat((x[:, :1], drop(prompt.unsqueeze(0).expand(img.shape[0], -1, -1)), x[:, 1:]), dim=1)
        return plain.head(plain.norm(plain.blocks(x))[:, 0])

    with torch.no_grad():
        got, want = run_both(model, reference, img, train)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


# ---- NOAH's retrained subnet: prompts swapped at the end of the sequence, LoRA in qkv, adapter after the MLP ----


def official_noah_subnet(plain: nn.Module, img: Tensor, dims: list[int], prompts: list, loras: list, adapters: list,
                         dead: Tensor) -> Tensor:
    """`forward_features` then `Block.forward` with `set_sample_config(RETRAIN)`; eval mode (no dropout)."""
    x = embed(plain, img)
    if dims[0]:  # the model-level prompt (forward_features L635-L640), removed again by block 0
        x = torch.cat((x, dead[: dims[0]].expand(x.shape[0], -1, -1)), dim=1)
    for i, blk in enumerate(plain.blocks):
        last = dims[i - 1] if i > 0 else dims[0]  # sample_last_prompt_tuning_dim (L597)
        if dims[i]:
            tokens = prompts[i].expand(x.shape[0], -1, -1)
            x = torch.cat((x, tokens) if last == 0 else (x[:, :-last], tokens), dim=1)
        h = blk.norm1(x)
        q, k, v = heads(blk.attn.qkv(h), blk.attn)
        if loras[i] is not None:
            dq, dk, dv = heads(F.linear(F.linear(h, loras[i][0]), loras[i][1]), blk.attn)
            q, k, v = q + dq, k + dk, v + dv
        x = x + attention(blk.attn, q, k, v)
        y = blk.mlp(blk.norm2(x))
        if adapters[i] is not None:
            w1, b1, w2, b2 = adapters[i]
            g = F.linear(y, w1, b1)
            y = y + F.linear(g * torch.sigmoid(1.702 * g), w2, b2)
        x = x + y
    return cls_head(plain, x)


@pytest.mark.parametrize("dims", [(2, 0, 3), (2, 3, 1), (0, 2, 2)])
def test_noah_subnet_matches_official_forward(dims: tuple[int, int, int]) -> None:
    sizes = dict(visual_prompt_dim=dims, lora_dim=(0, 2, 1), adapter_dim=(3, 0, 2))
    model = methods.apply(make_vit("patch4-img24"), "noah", **sizes).eval()
    prompts = [getattr(blk, "noah_prompt", None) for blk in model.blocks]
    loras = [(blk.attn.qkv.lora_A[0], blk.attn.qkv.lora_B[0]) if hasattr(blk.attn.qkv, "lora_A") else None
             for blk in model.blocks]
    adapters = []
    for blk in model.blocks:
        bn = getattr(blk, "noah_adapter", None)
        if bn is not None:
            with torch.no_grad():
                bn.up.bias.normal_(0, 0.5)
        adapters.append(None if bn is None else (bn.down.weight, bn.down.bias, bn.up.weight, bn.up.bias))
    img, dead = make_input("patch4-img24", batch=3), torch.randn(max(dims), 32)
    with torch.no_grad():
        want = official_noah_subnet(make_vit("patch4-img24"), img, list(dims), prompts, loras, adapters, dead)
        torch.testing.assert_close(model(img), want, atol=1e-5, rtol=1e-5)
