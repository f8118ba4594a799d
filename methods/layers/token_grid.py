"""Token-grid helpers for methods that run 2-D convolutions on a ViT's patch tokens (Convpass, Mona, DTL+).

A timm ViT's sequence is `[prefix tokens (class, register) | patch tokens (row-major grid)]`. Convolutions see the
patch tokens as an (h, w) image; the prefix tokens are convolved as 1x1 images (only the kernel's centre tap
touches them), which is what Convpass's official code does for the class token (JieShibo/PETL-ViT,
convpass/vtab/convpass.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x), the GELU approximation Convpass uses (CLIP's activation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def grid_size(num_patches: int, default: tuple[int, int] | None) -> tuple[int, int]:
    """(h, w) of the patch grid: the model's grid when it matches, else the square grid of `num_patches`."""
    if default is not None and default[0] * default[1] == num_patches:
        return default
    side = math.isqrt(num_patches)
    if side * side != num_patches:
        raise ValueError(f"cannot lay {num_patches} patch tokens on a grid (model grid {default})")
    return side, side


def model_grid(model: nn.Module) -> tuple[int, int] | None:
    """The patch grid of a timm ViT's patch embedding at its configured image size, if it has one."""
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)
    return (int(grid[0]), int(grid[1])) if grid is not None else None


def conv_tokens(
    x: torch.Tensor, n_prefix: int, grid: tuple[int, int] | None, conv: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """Apply the image-to-image `conv` to the tokens `x` (B, N, C): patch tokens as a grid, prefix tokens as 1x1."""
    b, n, c = x.shape
    h, w = grid_size(n - n_prefix, grid)
    patches = x[:, n_prefix:].transpose(1, 2).reshape(b, c, h, w)
    patches = conv(patches).flatten(2).transpose(1, 2)
    if n_prefix == 0:
        return patches
    prefix = x[:, :n_prefix].reshape(b * n_prefix, c, 1, 1)
    prefix = conv(prefix).reshape(b, n_prefix, -1)
    return torch.cat([prefix, patches], dim=1)
