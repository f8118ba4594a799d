"""Tiny timm ViTs for the method tests: fast on a 2-core CPU, nothing downloaded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from timm.models.vision_transformer import VisionTransformer

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

ModelFactory = Callable[..., VisionTransformer]


def make_vit(variant: str = "cls", seed: int = 0) -> VisionTransformer:
    """The same random backbone for the same (variant, seed), as a pretrained one would be."""
    torch.manual_seed(seed)
    model = VisionTransformer(**VARIANTS[variant])
    # timm zero-initialises the head; random weights make outputs depend on every feature. Logits stay of
    # order one, so the float32 merge tolerance (atol 1e-5) measures the merge, not the rounding of large logits
    torch.nn.init.normal_(model.head.weight, std=0.1)
    return model.eval()


def make_input(variant: str = "cls", batch: int = 2, seed: int = 1) -> torch.Tensor:
    size = VARIANTS[variant]["img_size"]
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=gen)


@pytest.fixture
def vit() -> ModelFactory:
    return make_vit
