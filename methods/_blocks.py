"""Adding per-block modules and a new block forward: the common apply step of sequential/parallel adapters."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from methods import _vit


def insert_per_block(
    model: nn.Module,
    method_id: str,
    make: Callable[[], dict[str, nn.Module]],
    forward: _vit.BlockForward,
) -> None:
    """For every (standard timm) block: attach the modules `make()` returns, on the block's device and dtype, under
    their names, and route the block through `forward`."""
    for block in _vit.require_standard_blocks(model, method_id):
        ref = block.norm1.weight
        for name, module in make().items():
            setattr(block, name, module.to(ref.device, ref.dtype))
        _vit.set_forward(block, forward)
