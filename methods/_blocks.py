"""Adding per-block modules and a new block forward: the common apply step of sequential/parallel adapters."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from . import _vit


def insert_per_block(
    model: nn.Module,
    method_id: str,
    make: Callable[[], dict[str, nn.Module]],
    forward: _vit.BlockForward,
) -> None:
    """For every (standard timm) block: attach the modules `make()` returns, on the block's device and dtype, under
    their names, and route the block through `forward`."""
    insert_per_block_sized(model, method_id, lambda _dim: make(), forward)


def insert_per_block_sized(
    model: nn.Module,
    method_id: str,
    make: Callable[[int], dict[str, nn.Module]],
    forward: _vit.BlockForward,
) -> None:
    """As `insert_per_block`, with `make(width)` given each block's width (a Swin's grows per stage)."""
    for block in _vit.require_standard_blocks(model, method_id):
        ref = block.norm1.weight
        for name, module in make(_vit.block_dim(block)).items():
            setattr(block, name, module.to(ref.device, ref.dtype))
        _vit.set_forward(block, forward)


def target_linears(model: nn.Module, method_id: str, suffixes: tuple[str, ...]) -> list[tuple[str, nn.Linear]]:
    """(name, layer) of `{block}.{suffix}` for every suffix and block; a clear error if one is not a Linear."""
    return [pair for suffix in suffixes for pair in _vit.block_linears(model, suffix, method_id)]


def wrap_linears(
    model: nn.Module, method_id: str, suffixes: tuple[str, ...], wrap: Callable[[nn.Linear], nn.Module]
) -> None:
    """Replace each target linear layer by `wrap(layer)` (a wrapper holding it as `base_layer`)."""
    for name, linear in target_linears(model, method_id, suffixes):
        _vit.replace_module(model, name, wrap(linear))


def unwrap_merged(model: nn.Module, wrapper: type[nn.Module]) -> None:
    """Put back, in place of every `wrapper` instance, the base layer its `merge()` returns (method folded in)."""
    for name, mod in list(model.named_modules()):
        if isinstance(mod, wrapper):
            _vit.replace_module(model, name, mod.merge())  # type: ignore[operator]
