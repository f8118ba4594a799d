"""LST: Ladder Side-Tuning (Sung, Cho & Bansal, NeurIPS 2022, arXiv:2206.06522) on a timm ViT.

A narrow side transformer runs next to the frozen backbone; after every backbone block a "ladder" (a linear
down-projection) feeds that block's output into the side network through a learned gate, and the side network's
output, projected back to the backbone width, goes to the classifier. Nothing in the backbone requires grad, so
autograd stores no graph through it: back-propagation runs through the side network and ladders only.

Sources and choices:
- Official code: github.com/ylsung/Ladder-Side-Tuning, commit 1798e82, `seq2seq/third_party/models/t5/
  modeling_side_t5.py` (T5 encoder with side blocks), `seq2seq/training_args.py` (gate defaults),
  `seq2seq/scripts/ladder_side_tuning_base.sh` and `seq2seq/configs/side_transformers.json`.
  Per layer i: side <- g_i * side + (1 - g_i) * down_i(backbone block i output), g_i = sigmoid(alpha_i / T), then
  side <- side_block_i(side). The side state starts as a down-projection of the embeddings
  (`side_first_downsample`); at the end a final LayerNorm and an up-projection (`side_final_upsample`) to the
  backbone width feed the head. Ladders and the up-projection have biases (`add_bias_sampling: true`).
- Side blocks: the backbone's block shape with every width divided by `reduction` (T5: d_model, d_ff, d_kv / r,
  same head count); here timm `Block`s of width C/r, MLP width (MLP ratio x C)/r, the backbone's head count, with
  qkv bias and LayerNorm(eps 1e-6).
- Defaults: reduction r=8 (ladder_side_tuning_base.sh, `r=8`), gate temperature T=0.1 and gate init alpha=0 (so
  g = 0.5; training_args.py `gate_T`, `gate_alpha`), learnable gates (`use_gate "learnable"`), gate before the side
  block (`add_residual_after False`).
- Side layers: a side block after every backbone block (default `side_layers=None`). The official T5-base GLUE
  script drops side layers 0, 4, 8 (`encoder_side_layers=[1,2,3,5,6,7,9,10,11]`); V-PETL Bench's 2.38M ViT-B/16 count
  is reproduced only with all 12 (see PARAM_NOTES), so all layers is our default; `side_layers=(...)` selects a
  subset. Unlike the official code we create gates only for the layers that have a side block (the official gates
  of skipped layers are never used).
- Side initialisation: the paper initialises the side network from the backbone pruned by Fisher information on
  task data (`load_side_pretrained_weights fisher-v2`). That needs the downstream data, so it is not done here: the
  side blocks get timm's ViT init (trunc-normal std 0.02 weights, zero biases). V-PETL Bench (commit c188fad)
  publishes an LST row for VTAB-1k but no LST code, so its init is unknown.
- Ladders and projections: the official `_init_weights` (`modeling_side_t5.py` L798-L802, "This is for adapter
  layers") draws every plain nn.Linear, i.e. `side_first_downsample`, the `side_downsamples` ladders and
  `side_final_upsample`, from N(0, 0.01^2) with a zero bias; `init_weights()` runs after they are built.
  Default `init="official"` does the same for `first_down`, `downs` and `up`; `init="torch"` keeps PyTorch's
  nn.Linear defaults.
- Dropout: T5's side blocks inherit T5's dropout; timm ViTs for VTAB run without dropout, so side blocks have none.
- Pooling: the side output is (B, N, C) for all tokens, so timm's `forward_head` pools it exactly as it would the
  backbone's features (class token, average over patches, map) and applies `fc_norm` and the head.
- Implemented as an instance-level `forward_features` on the model; the backbone's final `norm` is not used (the
  backbone's last block output only feeds the last ladder, as in the official code).
- Not the identity at init, not mergeable.

PARAM_NOTES (ViT-B/16: C=768, 12 layers, MLP 3072, head excluded; r=8 -> side width 96, MLP 384):
side blocks 12 x (96*288+288 + 96*96+96 + 96*384+384 + 384*96+96 + 2*2*96) = 12 x 111,840 = 1,342,080;
ladders 13 x (768*96+96) = 959,712 (12 blocks + embeddings); gates 12; final norm 192; up-projection 96*768+768 =
74,496; total 2,376,492 = 2.38M, equal to V-PETL Bench's VTAB-1k 2.38M.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from timm.models.vision_transformer import Block, init_weights_vit_timm
from torch import nn

from . import _features, _vit
from .base import Method, MethodConfig
from .registry import register


class LSTConfig(MethodConfig):
    reduction: int = Field(8, ge=1)  # ylsung/Ladder-Side-Tuning 1798e82, ladder_side_tuning_base.sh: r=8
    gate_temperature: float = Field(0.1, gt=0)  # training_args.py: gate_T=0.1
    gate_init: float = 0.0  # training_args.py: gate_alpha=0 (sigmoid(0) = 0.5)
    side_layers: tuple[int, ...] | None = None  # None: every layer (reproduces V-PETL Bench's 2.38M)
    init: Literal["official", "torch"] = "official"  # ladders / projections N(0, 0.01^2), zero bias (official)


class LadderSideNetwork(nn.Module):
    """Ladders, gates and side blocks; `forward` consumes the backbone's block outputs one at a time."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, depth: int, cfg: LSTConfig) -> None:
        super().__init__()
        side = dim // cfg.reduction
        self.layers = sorted(set(range(depth) if cfg.side_layers is None else cfg.side_layers))
        self.temperature = cfg.gate_temperature
        self.first_down = nn.Linear(dim, side)
        self.downs = nn.ModuleList(nn.Linear(dim, side) for _ in self.layers)
        self.gates = nn.Parameter(torch.full((len(self.layers),), float(cfg.gate_init)))
        self.blocks = nn.ModuleList(
            Block(side, num_heads, mlp_ratio=mlp_ratio, qkv_bias=True, norm_layer=_layer_norm) for _ in self.layers
        )
        for block in self.blocks:
            block.apply(init_weights_vit_timm)
        self.norm = _layer_norm(side)
        self.up = nn.Linear(side, dim)
        if cfg.init == "official":
            for linear in (self.first_down, *self.downs, self.up):
                _normal_001_(linear)
        self.slot = {layer: j for j, layer in enumerate(self.layers)}  # backbone layer -> side index

    def ladder(self, j: int, side: torch.Tensor, feats: torch.Tensor, **block_kwargs: object) -> torch.Tensor:
        """Gate backbone features of side layer j into the side state, then run side block j."""
        g = torch.sigmoid(self.gates[j] / self.temperature).to(side.dtype)
        side = g * side + (1 - g) * self.downs[j](feats)
        return self.blocks[j](side, **block_kwargs)


def _normal_001_(linear: nn.Linear) -> None:
    """The official T5 side network's init of its adapter-like Linears: N(0, 0.01^2) weight, zero bias."""
    with torch.no_grad():
        nn.init.normal_(linear.weight, mean=0.0, std=0.01)
        if linear.bias is not None:
            nn.init.zeros_(linear.bias)


def _layer_norm(dim: int, **kwargs: object) -> nn.LayerNorm:
    return nn.LayerNorm(dim, eps=1e-6, **kwargs)  # type: ignore[arg-type]


def _lst_forward_features(
    model: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    """Backbone blocks with the side network alongside; returns the side output at the backbone width."""
    net: LadderSideNetwork = model.lst_side
    x = _features.embed_tokens(model, x)
    kwargs = {"attn_mask": attn_mask, "is_causal": is_causal}
    side = net.first_down(x)
    for i, block in enumerate(model.blocks):
        x = block(x, **kwargs)
        if i in net.slot:
            side = net.ladder(net.slot[i], side, x, **kwargs)
    return net.up(net.norm(side))


@register("lst", config=LSTConfig, mergeable=False, identity_at_init=False, paper="2206.06522")
class LST(Method):
    cfg: LSTConfig

    def check_model(self, model: nn.Module) -> None:
        blocks = _vit.require_standard_blocks(model, self.spec.id)
        dim, heads, r = _vit.embed_dim(model), blocks[0].attn.num_heads, self.cfg.reduction
        if dim % r or (dim // r) % heads:
            raise _vit.UnsupportedModelError(
                f"method 'lst': width {dim} / reduction {r} must be a whole multiple of the {heads} heads; "
                "choose a reduction that divides it"
            )
        bad = [i for i in self.cfg.side_layers or () if not 0 <= i < len(blocks)]
        if bad or self.cfg.side_layers == ():
            raise ValueError(f"lst: side_layers must be non-empty indices in [0, {len(blocks)}); got {bad or '()'}")

    def apply(self, model: nn.Module) -> None:
        blocks = _vit.blocks(model)
        dim = _vit.embed_dim(model)
        mlp_ratio = blocks[0].mlp.fc1.out_features / dim
        ref = blocks[0].norm1.weight
        net = LadderSideNetwork(dim, blocks[0].attn.num_heads, mlp_ratio, len(blocks), self.cfg)
        model.lst_side = net.to(ref.device, ref.dtype)
        _features.set_forward_features(model, _lst_forward_features)
