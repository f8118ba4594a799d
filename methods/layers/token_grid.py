"""Token-grid helpers for methods that run 2-D convolutions on a ViT's patch tokens (Convpass, Mona, DTL+).

A timm ViT's sequence is `[prefix tokens (class, register) | patch tokens (row-major grid)]`. Convolutions see the
patch tokens as an (h, w) image; the prefix tokens are convolved as 1x1 images (only the kernel's centre tap
touches them), which is what Convpass's official code does for the class token (JieShibo/PETL-ViT, commit 026e4f1,
convpass/vtab/convpass.py). The computation is reorganised but equal: instead of running the conv stack on a
zero-padded 1x1 image, the prefix tokens go through the pointwise equivalent (`conv_centre`: the centre tap of each
kernel plus its bias), which is what the padded convolution computes there.
"""

from __future__ import annotations

import functools
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


def conv_centre(conv: nn.Conv2d, h: torch.Tensor) -> torch.Tensor:
    """What `conv` gives a 1x1 image, on (..., C) tokens: the centre tap of its kernel and its bias.

    Exact for zero 'same' padding (padding = kernel // 2, odd kernels, dilation 1): every other tap reads padding.
    Dense (groups=1) convs become a linear map, depth-wise ones a per-channel scale.
    """
    kh, kw = conv.kernel_size
    if conv.padding != (kh // 2, kw // 2) or kh % 2 == 0 or kw % 2 == 0 or conv.dilation != (1, 1) or (
        conv.padding_mode != "zeros"
    ):
        raise ValueError(f"conv_centre needs an odd-kernel, zero 'same'-padded, undilated conv; got {conv}")
    centre = conv.weight[:, :, kh // 2, kw // 2]  # (out, in / groups)
    if conv.groups == 1:
        return nn.functional.linear(h, centre, conv.bias)
    if not conv.groups == conv.in_channels == conv.out_channels:
        raise ValueError(f"conv_centre handles dense or depth-wise convs; got groups={conv.groups} in {conv}")
    out = h * centre[:, 0]
    return out if conv.bias is None else out + conv.bias


Pointwise = Callable[[torch.Tensor], torch.Tensor]


def conv_tokens(
    x: torch.Tensor,
    n_prefix: int,
    grid: tuple[int, int] | None,
    conv: Callable[[torch.Tensor], torch.Tensor],
    pointwise: Pointwise | None = None,
) -> torch.Tensor:
    """Apply the image-to-image `conv` to the tokens `x` (B, N, C): patch tokens as a grid, prefix tokens as 1x1.

    `pointwise` is what `conv` computes on a 1x1 image, applied to (B, n_prefix, C) tokens; for an `nn.Conv2d` it
    defaults to its centre tap (`conv_centre`); other modules must give theirs.
    """
    b, n, c = x.shape
    h, w = grid_size(n - n_prefix, grid)
    patches = x[:, n_prefix:].transpose(1, 2).reshape(b, c, h, w)
    patches = conv(patches).flatten(2).transpose(1, 2)
    if n_prefix == 0:
        return patches
    if pointwise is None:
        if not isinstance(conv, nn.Conv2d):
            raise TypeError("conv_tokens: give `pointwise` (the 1x1-image equivalent) for a conv stack")
        pointwise = functools.partial(conv_centre, conv)
    return torch.cat([pointwise(x[:, :n_prefix]), patches], dim=1)
