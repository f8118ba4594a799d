"""Tiny timm ViTs for the method tests: fast on a 2-core CPU, nothing downloaded."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import torch
from timm.models.convnext import ConvNeXt
from timm.models.eva import Eva
from timm.models.resnet import BasicBlock, ResNet
from timm.models.swin_transformer import SwinTransformer
from timm.models.vision_transformer import VisionTransformer
from torch import nn

# name -> VisionTransformer kwargs; "cls" is the main matrix backbone, the others check shape generality
VARIANTS: dict[str, dict[str, Any]] = {
    "cls": dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=5),
    "avgpool-no-cls": dict(
        img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=5,
        class_token=False, global_pool="avg",
    ),
    "patch4-img24": dict(img_size=24, patch_size=4, embed_dim=32, depth=3, num_heads=2, num_classes=3),
    "reg-tokens": dict(
        img_size=32, patch_size=16, embed_dim=48, depth=2, num_heads=3, num_classes=4, reg_tokens=2,
        no_embed_class=True,
    ),
}

# The ViTs users start from, as tiny models of the same architecture (the timm configs named): every method
# declaring "vit" runs on them in the matrix (`test_vit_checkpoint_architectures`).
VIT_ARCHITECTURES: dict[str, dict[str, Any]] = {
    # vit_base_patch16_clip_224: pre_norm=True, LayerNorm eps 1e-5, class-token pooling
    "clip": dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=5, pre_norm=True,
                 norm_layer=partial(nn.LayerNorm, eps=1e-5)),
    # vit_small_patch14_reg4_dinov2: LayerScale init_values=1e-5, 4 register tokens, no_embed_class
    "dinov2": dict(img_size=28, patch_size=7, embed_dim=48, depth=2, num_heads=3, num_classes=5, init_values=1e-5,
                   reg_tokens=4, no_embed_class=True),
    # MAE fine-tuning (vit_base_patch16_224.mae weights): average pooling with fc_norm instead of the final norm
    "mae": dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=5, global_pool="avg",
                fc_norm=True),
}

# One tiny model per non-ViT family (methods/_families.py), built from timm's classes, 32x32 inputs.
FAMILY_MODELS: dict[str, Callable[[], nn.Module]] = {
    # eva02_tiny_patch14_224's block: SwiGLU MLP (ratio 4 * 2 / 3), rotary position embedding, q/v biases
    "eva": lambda: Eva(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=5,
                       mlp_ratio=4 * 2 / 3, swiglu_mlp=True, use_rot_pos_emb=True, ref_feat_shape=(4, 4)),
    "swin": lambda: SwinTransformer(img_size=32, patch_size=4, window_size=2, embed_dim=32, depths=(1, 1),
                                    num_heads=(1, 2), num_classes=5, drop_path_rate=0.0),
    # LayerScale starts at 1, as a trained model's is (timm's 1e-6 init would hide every change of a block's MLP)
    "convnext": lambda: ConvNeXt(depths=(1, 1, 1, 1), dims=(32, 32, 64, 64), kernel_sizes=3, ls_init_value=1.0,
                                 num_classes=5),
    "resnet": lambda: ResNet(BasicBlock, layers=(1, 1, 1, 1), channels=(8, 8, 16, 16), stem_width=8, num_classes=5),
}

ModelFactory = Callable[..., VisionTransformer]


def make_vit(variant: str = "cls", seed: int = 0) -> VisionTransformer:
    """The same random backbone for the same (variant, seed), as a pretrained one would be."""
    torch.manual_seed(seed)
    model = VisionTransformer(**VARIANTS[variant])
    # timm zero-initialises the head; random weights make outputs depend on every feature. Logits stay of
    # order one, so the float32 merge tolerance (atol 1e-5) measures the merge, not the rounding of large logits
    torch.nn.init.normal_(model.head.weight, std=0.1)
    return model.eval()


def make_family_model(family: str, seed: int = 0) -> nn.Module:
    """The tiny model of `family` ("vit" is the main matrix ViT), with a random head as in `make_vit`: a copy of
    one built per (family, seed), since timm's initialisers cost more than the tests' forward passes."""
    if family == "vit":
        return make_vit(seed=seed)
    return copy.deepcopy(_family_prototype(family, seed))


@functools.cache
def _family_prototype(family: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = FAMILY_MODELS[family]()
    torch.nn.init.normal_(model.get_classifier().weight, std=0.1)
    return model.eval()


def make_architecture(name: str, seed: int = 0) -> VisionTransformer:
    torch.manual_seed(seed)
    model = VisionTransformer(**VIT_ARCHITECTURES[name])
    torch.nn.init.normal_(model.head.weight, std=0.1)
    return model.eval()


def make_input(variant: str = "cls", batch: int = 2, seed: int = 1) -> torch.Tensor:
    """Images for a VARIANTS or VIT_ARCHITECTURES name; 32x32 for the family models."""
    size = {**VARIANTS, **VIT_ARCHITECTURES}.get(variant, {"img_size": 32})["img_size"]
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=gen)


@pytest.fixture
def vit() -> ModelFactory:
    return make_vit
