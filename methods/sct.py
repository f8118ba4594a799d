"""SCT: salient channel tuning (Zhao et al., "SCT: A Simple Baseline for Parameter-Efficient Fine-Tuning via
Salient Channels", IJCV 2024, arXiv:2309.08513).

Sources and choices:
- Official code: github.com/showlab/SCT, commit 384cecb, `models/vision_transformer_sct.py` (`ChannelAdapter`,
  `Block.forward` with `tuning_mode="sct_attn"`), `run_model_sct.sh` (topN=96, tuning_mode=sct_attn) and
  `configs/model_sct/vtab/*.yaml`. V-PETL Bench (synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit
  c188fad) ships the same files (`models/vision_transformer_sct.py`, `train/train_model_sct.py`).
- Placement ("sct_attn"): after the attention residual add, the N selected channels of every token get a learnt
  N x N linear map added: x[..., S] += W x[..., S] + b. Init: W ~ truncated normal std 0.02, b = 0 (so the model
  does not start exactly as the backbone).
- Salient channels: per layer, the official `getSalientChannels` hooks the input of `blocks.i.norm2` (the same
  residual stream), drops the class token, takes per class the L2 norm of each channel over all samples and patch
  tokens, averages over classes and keeps the top N. This needs task data, so it is `salient_channels(model,
  images, labels)`, which returns the config to apply; the result is stored in the config (`channels`), so a saved
  model reloads with the same selection. Without data (`channels=None`) the first N channels are used: a
  placeholder with the right shape and count, not the paper's method. We drop every prefix token (class and
  register tokens), not just the first.
- N: official topN=96 on ViT-B/16 (768 channels), i.e. 1/8 of the width; `n_channels=None` means width // 8 so
  that narrower ViTs get the same fraction.
- Scale: the per-task YAMLs have a `scale`, but the committed forward (marked "for test time") adds the map
  unscaled and the scaled line is commented out; default `scale=1.0` reproduces the committed code.
- Count on ViT-B/16: 12 * (96*96 + 96) = 111,744 = 0.11M (published 0.11M).
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from . import _vit
from ._blocks import insert_per_block
from .base import Method, MethodConfig
from .registry import register


class SCTConfig(MethodConfig):
    n_channels: int | None = Field(None, ge=1)  # official topN=96 on 768 channels; None: width // 8
    channels: tuple[tuple[int, ...], ...] | None = None  # per-layer salient channels (`salient_channels`)
    scale: float = 1.0  # the committed official forward adds the map unscaled


class ChannelLinear(nn.Module):
    """x + scale * scatter(W x[..., S] + b) on the channels S."""

    def __init__(self, channels: list[int], scale: float) -> None:
        super().__init__()
        n = len(channels)
        self.register_buffer("index", torch.tensor(channels, dtype=torch.long), persistent=False)
        self.linear = nn.Linear(n, n)
        self.scale = scale
        nn.init.trunc_normal_(self.linear.weight, std=0.02)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        delta = self.linear(x.index_select(-1, self.index)) * self.scale
        return x.index_add(-1, self.index, delta.to(x.dtype))


def _sct_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    x = block.sct(x + _vit.attn_branch(block, x, attn_mask, is_causal))
    return x + _vit.mlp_branch(block, x)


def _n_channels(cfg: SCTConfig, width: int) -> int:
    return cfg.n_channels if cfg.n_channels is not None else max(1, width // 8)


@register("sct", config=SCTConfig, mergeable=False, identity_at_init=False, paper="2309.08513")
class SCT(Method):
    cfg: SCTConfig

    def _layer_channels(self, model: nn.Module) -> list[list[int]]:
        width, depth = _vit.embed_dim(model), len(_vit.blocks(model))
        if self.cfg.channels is None:
            n = _n_channels(self.cfg, width)
            if n > width:
                raise ValueError(f"sct: n_channels={n} exceeds the model width {width}")
            return [list(range(n))] * depth
        chans = [list(c) for c in self.cfg.channels]
        if len(chans) != depth or any(not c or len(set(c)) != len(c) or min(c) < 0 or max(c) >= width for c in chans):
            raise ValueError(
                f"sct: channels must list {depth} non-empty sets of distinct channel ids in [0, {width}), one per block"
            )
        return chans

    def check_model(self, model: nn.Module) -> None:
        super().check_model(model)
        _vit.require_standard_blocks(model, self.spec.id)
        self._layer_channels(model)

    def apply(self, model: nn.Module) -> None:
        layers = iter(self._layer_channels(model))
        make = lambda: {"sct": ChannelLinear(next(layers), self.cfg.scale)}  # noqa: E731 - next block's channels
        insert_per_block(model, self.spec.id, make, _sct_block_forward)


@torch.no_grad()
def salient_channels(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, n_channels: int | None = None, **options: object
) -> SCTConfig:
    """The SCT config with each block's top channels of the post-attention stream on task data (official
    `getSalientChannels`): per class, the L2 norm of each channel over samples and patch tokens, mean over classes.

    `model` is the plain backbone; `images` a batch of task images and `labels` their classes.
    """
    _vit.require_standard_blocks(model, "sct")
    n_prefix, width = _vit.num_prefix_tokens(model), _vit.embed_dim(model)
    n = n_channels if n_channels is not None else max(1, width // 8)
    seen: list[torch.Tensor] = []
    handles = [b.norm2.register_forward_hook(lambda _m, a, _o: seen.append(a[0][:, n_prefix:])) for b in model.blocks]
    was_training = model.training
    try:
        model.eval()
        model(images)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    classes = labels.unique()
    chans = []
    for feats in seen:
        per_class = torch.stack([feats[labels == c].float().norm(dim=(0, 1)) for c in classes])
        chans.append(tuple(sorted(per_class.mean(0).topk(n).indices.tolist())))
    return SCTConfig(n_channels=n_channels, channels=tuple(chans), **options)  # type: ignore[arg-type]
