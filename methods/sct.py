"""SCT, salient channel tuning ("SCT: A Simple Baseline for Parameter-Efficient Fine-Tuning via Salient Channels",
arXiv:2309.08513), as V-PETL Bench runs it (`sct_attn`).

After each block's attention residual, a K x K linear map (with bias) adds to K selected ("salient") channels of
the token stream: x[..., S] += W x[..., S] + b, then the MLP branch runs as usual.

Sources and choices:
- V-PETL Bench (github.com/synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit c188fad):
  `ImageClassification/models/vision_transformer_sct.py` (`ChannelAdapter`, `Block` with tuning_mode 'sct_attn'),
  `ImageClassification/train/train_model_sct.py` (`getSalientChannels`), `ImageClassification/scripts/
  run_model_sct.sh` (every VTAB-1k task: topN=96, tuning_mode=sct_attn).
- K: V-PETL Bench uses 96 of ViT-B's 768 channels; the default `top_k=None` means C // 8, which is 96 there and
  scales with the width (so small ViTs work with the default).
- Init: weight trunc-normal std 0.02, bias zero (`ChannelAdapter._init_weights`), so the model does not start
  exactly as the backbone.
- Channel selection needs task data: `salient_channels(model, batches, top_k)` runs the frozen backbone over
  labelled batches, takes each block's norm2 input (the stream after the attention residual) without the prefix
  tokens (the official hook drops the class token; register tokens are dropped too), computes per class the L2
  norm of every channel over that class's samples and tokens, averages over classes and keeps the top_k channels
  (the official `fea > sorted(fea)[C-1-K]`, i.e. the K largest). Pass the result as `channels=...`.
  Without `channels` (no task data at hand) the first top_k channels of every block are used: a neutral
  placeholder, not the paper's method; use `salient_channels` for real runs.
- The official `scale` / `scaleonx` config options are commented out of its forward (V-PETL's "this is for test
  time" path adds the map unscaled), so there is no scale here.
- Not mergeable: the map acts on the residual stream itself, which no existing weight can absorb.

PARAM_NOTES (ViT-B/16, 12 blocks; head excluded): 12 x (96*96 + 96) = 111,744 = 0.11M, equal to V-PETL Bench's
VTAB-1k 0.11M.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from pydantic import Field
from timm.layers import trunc_normal_
from torch import nn

from methods import _vit
from methods.base import Method, MethodConfig
from methods.registry import register

Channels = tuple[tuple[int, ...], ...]


class SCTConfig(MethodConfig):
    # V-PETL Bench c188fad run_model_sct.sh: topN=96 on every VTAB-1k task; None = width // 8 (96 on ViT-B)
    top_k: int | None = Field(None, ge=1)
    channels: Channels | None = None  # per block, from `salient_channels` (None: first top_k channels)


class SalientChannelLinear(nn.Module):
    """x[..., channels] += linear(x[..., channels]), out of place."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.register_buffer("index", torch.tensor(channels, dtype=torch.long), persistent=False)
        self.linear = nn.Linear(len(channels), len(channels))
        trunc_normal_(self.linear.weight, std=0.02)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        delta = self.linear(x.index_select(-1, self.index))
        return x.index_add(-1, self.index, delta.to(x.dtype))


def _sct_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    x = x + _vit.attn_branch(block, x, attn_mask, is_causal)
    x = block.sct(x)
    return x + _vit.mlp_branch(block, x)


@torch.no_grad()
def salient_channels(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], top_k: int | None = None
) -> Channels:
    """The top_k salient channels of every block, from (images, labels) batches run through the frozen `model`."""
    blocks = _vit.require_standard_blocks(model, "sct")
    top_k = top_k or max(_vit.embed_dim(model) // 8, 1)
    n_prefix = _vit.num_prefix_tokens(model)
    sums: list[dict[int, torch.Tensor]] = [{} for _ in blocks]  # per block: class -> sum of squares per channel
    current: dict[str, torch.Tensor] = {}  # the labels of the batch being run

    def hook_for(i: int):  # noqa: ANN202 - a forward pre-hook
        def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            feats, labels = args[0][:, n_prefix:].float(), current["labels"]
            for c in labels.unique().tolist():
                sq = feats[labels == c].square().sum(dim=(0, 1))
                sums[i][c] = sums[i].get(c, 0) + sq

        return hook

    was_training = model.training
    model.eval()
    hooks = [b.norm2.register_forward_pre_hook(hook_for(i)) for i, b in enumerate(blocks)]
    try:
        for images, labels in batches:
            current["labels"] = labels
            model(images)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if not sums[0]:
        raise ValueError("salient_channels: no batches given")
    out = []
    for per_class in sums:
        score = torch.stack([s.sqrt() for s in per_class.values()]).mean(dim=0)
        out.append(tuple(sorted(score.topk(top_k).indices.tolist())))
    return tuple(out)


@register("sct", config=SCTConfig, mergeable=False, identity_at_init=False, paper="2309.08513")
class SCT(Method):
    cfg: SCTConfig

    def _channels(self, model: nn.Module) -> Channels:
        depth, dim = len(_vit.blocks(model)), _vit.embed_dim(model)
        k = self.cfg.top_k or max(dim // 8, 1)
        if k > dim:
            raise _vit.UnsupportedModelError(f"method 'sct': top_k={k} is more than the model's {dim} channels")
        chosen = self.cfg.channels if self.cfg.channels is not None else (tuple(range(k)),) * depth
        ok = len(chosen) == depth and all(
            len(c) == k and len(set(c)) == k and all(0 <= i < dim for i in c) for c in chosen
        )
        if not ok:
            raise ValueError(
                f"sct: channels must hold, for each of the {depth} blocks, {k} distinct indices in [0, {dim})"
            )
        return chosen

    def check_model(self, model: nn.Module) -> None:
        _vit.require_standard_blocks(model, self.spec.id)
        self._channels(model)

    def apply(self, model: nn.Module) -> None:
        ref = next(model.parameters())
        for block, chans in zip(_vit.blocks(model), self._channels(model), strict=True):
            block.sct = SalientChannelLinear(chans).to(ref.device, ref.dtype)
            _vit.set_forward(block, _sct_block_forward)
