"""Helpers for methods that re-route a timm ViT's `forward_features` (side networks such as LST and DTL).

timm's `VisionTransformer.forward` calls `self.forward_features` and then `self.forward_head`; an instance-level
`forward_features` therefore changes what the head sees while pooling, `fc_norm` and the head stay the model's own.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import torch
from torch import nn

FeaturesForward = Callable[..., torch.Tensor]


def embed_tokens(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The token sequence timm feeds to block 0: patch embedding, prefix tokens + position, patch drop, pre-norm."""
    return model.norm_pre(model.patch_drop(model._pos_embed(model.patch_embed(x))))


def set_forward_features(model: nn.Module, forward: FeaturesForward) -> None:
    """Route `model.forward_features(...)` through `forward(model, x, attn_mask=None, is_causal=False)`."""
    model.forward_features = types.MethodType(forward, model)  # type: ignore[method-assign]


def set_forward_head(model: nn.Module, forward: Callable[..., torch.Tensor]) -> None:
    """Route `model.forward_head(x, pre_logits=False)` through `forward(model, x, pre_logits=False)`."""
    model.forward_head = types.MethodType(forward, model)  # type: ignore[method-assign]
