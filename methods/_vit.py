"""Helpers to walk timm `VisionTransformer`s (and, for the methods that declare the "swin" family, timm
`SwinTransformer`s): blocks, attention/MLP linears, norms, module replacement.

Swin's `SwinTransformerBlock` has the same parts under the same names as a ViT `Block` (norm1, attn.qkv,
attn.proj, norm2, mlp.fc1, mlp.fc2, drop_path1/2) around window attention (`_attn`), so a helper that takes a
block works on both; Swin's blocks sit in stages (`layers.{s}.blocks.{j}`) and their width grows per stage.

Every check raises `UnsupportedModelError` with a message naming what is supported, so a method gets clear
errors for free by going through these helpers instead of reaching into the model itself.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator

import torch
from timm.models.swin_transformer import SwinTransformer, SwinTransformerBlock
from timm.models.vision_transformer import Block, VisionTransformer
from torch import nn

from .base import UnsupportedModelError

__all__ = ["UnsupportedModelError"]  # re-exported for method modules

SUPPORTED = "timm VisionTransformer models (timm.models.vision_transformer.VisionTransformer, e.g. vit_*, deit_*)"

BlockForward = Callable[..., torch.Tensor]


def require_vit(model: nn.Module, method_id: str) -> VisionTransformer:
    """Return `model` as a VisionTransformer, or raise naming the supported backbones."""
    if not isinstance(model, VisionTransformer):
        raise UnsupportedModelError(
            f"method {method_id!r} does not support {type(model).__module__}.{type(model).__name__}; "
            f"supported: {SUPPORTED}"
        )
    if len(model.blocks) == 0:
        raise UnsupportedModelError(f"method {method_id!r}: the VisionTransformer has no blocks")
    return model


def require_transformer(model: nn.Module, method_id: str) -> nn.Module:
    """A Swin with blocks as it is; anything else must pass `require_vit` (a CNN passes: its family was checked)."""
    if isinstance(model, SwinTransformer):
        if not blocks(model):
            raise UnsupportedModelError(f"method {method_id!r}: the SwinTransformer has no blocks")
        return model
    from ._families import family_of

    return model if family_of(model) not in (None, "vit") else require_vit(model, method_id)


def require_standard_blocks(model: nn.Module, method_id: str) -> list[Block]:
    """The blocks, checked to be timm's pre-norm `Block` (or, in a Swin, `SwinTransformerBlock`): methods that
    re-route the block's forward need it."""
    standard = SwinTransformerBlock if isinstance(model, SwinTransformer) else Block
    require_transformer(model, method_id)
    out = []
    for i, blk in enumerate(blocks(model)):
        if not isinstance(blk, standard):
            raise UnsupportedModelError(
                f"method {method_id!r} needs timm's pre-norm Block in every layer; block {i} is "
                f"{type(blk).__name__} (supported: {SUPPORTED} with the default block_fn)"
            )
        out.append(blk)
    return out


def block_names(model: nn.Module) -> list[str]:
    """Dotted names of the transformer blocks in order: `blocks.{i}` (ViT), `layers.{s}.blocks.{j}` (Swin)."""
    if isinstance(model, SwinTransformer):
        return [f"layers.{s}.blocks.{j}" for s, stage in enumerate(model.layers) for j in range(len(stage.blocks))]
    return [f"blocks.{i}" for i in range(len(model.blocks))]  # type: ignore[arg-type]


def blocks(model: nn.Module) -> list[nn.Module]:
    """The transformer blocks in order."""
    return [model.get_submodule(name) for name in block_names(model)]


def block_dim(block: nn.Module) -> int:
    """A block's width (the residual stream's channels): Swin's grows per stage, a ViT's is `embed_dim`."""
    return int(block.norm1.normalized_shape[0])  # type: ignore[union-attr, index]


def embed_dim(model: nn.Module) -> int:
    return int(model.embed_dim)  # type: ignore[arg-type]


def num_prefix_tokens(model: nn.Module) -> int:
    """Class and register tokens in front of the patch tokens (0 for class_token=False models)."""
    return int(getattr(model, "num_prefix_tokens", 0))


def heads(model: nn.Module) -> list[nn.Module]:
    """The classifier head(s): `model.get_classifier()`, which distilled DeiTs return as a (head, head_dist) pair."""
    found = model.get_classifier()  # type: ignore[operator]
    return list(found) if isinstance(found, (tuple, list)) else [found]


def head_parameters(model: nn.Module) -> set[int]:
    """ids of the classifier heads' parameters; empty if the head is Identity."""
    return {id(p) for head in heads(model) for p in head.parameters()}


def linear_at(model: nn.Module, name: str, method_id: str) -> nn.Linear:
    """The `nn.Linear` at dotted path `name`, or a clear error."""
    try:
        mod = model.get_submodule(name)
    except AttributeError:
        mod = None
    if not isinstance(mod, nn.Linear):
        found = "nothing" if mod is None else type(mod).__name__
        raise UnsupportedModelError(
            f"method {method_id!r} needs an nn.Linear at {name!r} but found {found}; supported: {SUPPORTED}"
        )
    return mod


def block_linears(model: nn.Module, suffix: str, method_id: str) -> Iterator[tuple[str, nn.Linear]]:
    """(full name, module) of `{block}.{suffix}` for every block, e.g. suffix "attn.qkv" or "mlp.fc1"."""
    require_transformer(model, method_id)
    for block in block_names(model):
        name = f"{block}.{suffix}"
        yield name, linear_at(model, name, method_id)


def replace_module(root: nn.Module, name: str, new: nn.Module) -> nn.Module:
    """Put `new` at dotted path `name` under `root`; return the module that was there."""
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    old = getattr(parent, child)
    setattr(parent, child, new)
    return old


# -- block forward re-routing ----------------------------------------------------------------------------------
# Methods that insert a module between the parts of a block (sequential or parallel adapters reading the
# residual stream) give the block an instance-level `forward`; the class's forward and every parameter name of
# the backbone stay as they were, and `restore_forward` removes the override again (used by merge).


def set_forward(module: nn.Module, forward: BlockForward) -> None:
    """Route `module(...)` through `forward(module, *args, **kwargs)`."""
    module.forward = types.MethodType(forward, module)  # type: ignore[method-assign]


def restore_forward(module: nn.Module) -> None:
    """Undo `set_forward`."""
    module.__dict__.pop("forward", None)


def has_forward_override(module: nn.Module) -> bool:
    return "forward" in module.__dict__


def attn_out(block: Block, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
             ) -> torch.Tensor:
    """The attention sub-layer's output before drop-path: `ls1(attn(norm1(x)))` in a ViT Block; in a Swin block its
    window attention (`_attn`: pad, shift, partition, attend, merge back) on the (B, H, W, C) map."""
    if isinstance(block, SwinTransformerBlock):
        return block._attn(block.norm1(x))
    return block.ls1(block.attn(block.norm1(x), attn_mask=attn_mask, is_causal=is_causal))


def mlp_out(block: Block, x: torch.Tensor) -> torch.Tensor:
    """The MLP sub-layer's output before drop-path. Swin's MLP acts on the last dimension, so it runs on the
    (B, H, W, C) map as it is (timm flattens to tokens first; the result is the same)."""
    if isinstance(block, SwinTransformerBlock):
        return block.mlp(block.norm2(x))
    return block.ls2(block.mlp(block.norm2(x)))


def attn_branch(block: Block, x: torch.Tensor, attn_mask: torch.Tensor | None, is_causal: bool) -> torch.Tensor:
    """The attention residual branch of a timm Block (or Swin block), without the residual add."""
    return block.drop_path1(attn_out(block, x, attn_mask, is_causal))


def mlp_branch(block: Block, x: torch.Tensor) -> torch.Tensor:
    """The MLP residual branch of a timm Block (or Swin block), without the residual add."""
    return block.drop_path2(mlp_out(block, x))
