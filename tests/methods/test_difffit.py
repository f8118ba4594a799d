"""DiffFit: count by formula, trained parameter set, and merging the scale factors with LayerScale present."""

from __future__ import annotations

import timm
import torch
from timm.models.vision_transformer import VisionTransformer
from vpeft import methods

from tests.methods.conftest import VARIANTS, make_input, make_vit
from tests.methods.published import vit_b16_trainable


def test_count_by_formula_on_vit_b16() -> None:
    with torch.device("meta"):
        vit = timm.create_model("vit_base_patch16_224", pretrained=False)
    head = {id(p) for p in vit.head.parameters()}
    biases = sum(p.numel() for n, p in vit.named_parameters() if n.endswith("bias") and id(p) not in head)
    norms = [m for m in vit.modules() if isinstance(m, torch.nn.LayerNorm)]
    norm_weights = sum(m.weight.numel() for m in norms)
    gammas = 2 * len(vit.blocks) * vit.embed_dim
    assert vit_b16_trainable("difffit") == biases + norm_weights + gammas


def test_trains_biases_norms_and_gammas_only() -> None:
    model = methods.apply(make_vit(), "difffit")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")}
    assert "blocks.0.attn.qkv.bias" in trainable and "blocks.1.norm2.weight" in trainable
    assert "blocks.0.difffit_gamma_mlp" in trainable
    assert not any(n.endswith("weight") and ("attn" in n or "mlp" in n) for n in trainable)


def test_merge_folds_gammas_with_layer_scale() -> None:
    torch.manual_seed(0)
    model = VisionTransformer(**VARIANTS["cls"], init_values=0.5).eval()
    methods.apply(model, "difffit")
    with torch.no_grad():
        for blk in model.blocks:
            blk.difffit_gamma_attn.uniform_(0.5, 1.5)
            blk.difffit_gamma_mlp.uniform_(0.5, 1.5)
        x = make_input()
        before = model(x)
        methods.merge(model)
        after = model(x)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    assert not any("difffit" in n for n, _ in model.named_parameters())
    assert list(model.state_dict()) == list(VisionTransformer(**VARIANTS["cls"], init_values=0.5).state_dict())
