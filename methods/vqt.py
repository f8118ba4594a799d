"""VQT: Visual Query Tuning (Tu, Mai & Chao, CVPR 2023, arXiv:2212.03220).

Every block gets a few learnable query tokens that take part in that block's attention only as queries: they read
the block's keys and values (computed from the ordinary tokens only) and pass through the block's projection and
MLP, but no ordinary token attends to them. So the backbone's own features are exactly unchanged, and each block's
query outputs "summarise" that block's features; the summaries of all blocks and the final class feature feed a
new linear head. Nothing in the backbone needs a gradient: autograd records no graph through the ordinary stream.

Sources and choices (official code github.com/andytu28/VQT, commit 9bca87e):
- Queries: `src/models/vit_backbones/h2t_vit.py` L261-L271: one (layers, T, D) parameter, initialised uniform in
  +-sqrt(6 / (3 * patch_h * patch_w + D)) (VPT's xavier-style init), with dropout on the tokens
  (`prompt_dropout`, L261, L290-L291). Ours: `vqt_queries`, same shape and init; `dropout`.
- Attention: `Head2ToeAttention.forward` L95-L117: queries from all tokens (query tokens first), keys and values from
  the ordinary tokens only (`hidden_states[:, query_prompt_len:]`); `Head2ToeBlock.forward` L201-L211 runs the usual
  pre-norm block on the concatenation, so the query tokens also get the residual adds and the MLP; after each
  block the query outputs are collected and dropped from the stream (`Head2ToeEncoder.forward` L283-L304). Our
  block step computes the ordinary tokens with timm's own block (exactly the backbone) and the query tokens with the
  same LayerNorms, qkv weights (q rows for the queries, k/v rows for the ordinary tokens), projection, LayerScale,
  drop-path and MLP.
- Features and head: `Head2ToeVisionTransformer.forward` L354-L392 with the defaults of `src/configs/config.py`
  L83-L90 (`NORMALIZE_FEATS=True`, `POOLING_FEATS=False`, `WEIGHTED_SUM_FEATS=False`, `KEEP_FRAC=1.0`) and
  `combine_method="concat"` (`build_h2t_model.py` L80): the class token after the final norm and each layer's query
  outputs flattened to T*D, each L2-normalised, concatenated (D + layers*T*D features) and fed to a linear head
  (`H2TViT.setup_head`, `MODEL.MLP_NUM=0`: `src/models/mlp.py` L15-L58, weight kaiming-normal fan_out, bias
  -log(99) from `special_bias=True`). Ours: `combine="concat"`, `normalize=True`, `head_init="official"`; the
  class feature is timm's pooled feature (`model.pool` + `fc_norm`: the class token for class-token ViTs).
  `combine="mean"` is `POOLING_FEATS` (mean over each layer's T outputs), `combine="weighted-sum"` is
  `WEIGHTED_SUM_FEATS` (a learnable (layers, T) weight, initialised to ones, `vqt_combine`).
- Number of query tokens: the official config default is 5 (`config.py` L84) but the VTAB script takes it as an
  argument (`scripts/VQT/run_vqt_vtab.sh` `MODEL.H2T.NUM_QUERY_TOKENS "$Q_PROMPT_LEN"`) and the README (L42) says
  "This can be simply set to 1"; default `num_tokens=1`. Dropout: the VTAB script passes `MODEL.H2T.DROPOUT "0.1"`
  (config default 0.0); default `dropout=0.1`.
- Train mode: `Head2ToeEncoder.train` (L273-L281) keeps every backbone module in eval mode during training and only
  the query-token dropout in train mode; its ViT (L120-L189) has no drop-path. With drop-path 0 (the recipe) our
  training forward is the same; the train/eval mode of the backbone is the harness's.
- Not implemented: `KEEP_FRAC` < 1 (the optional post-hoc feature selection that compresses the head,
  `run_vqt_vtab_sparsity.sh`) and the "selfatten" combine methods (not used by the VTAB script).
- PETL_Vision (github.com/OSU-MLB/PETL_Vision, commit 245d262, `model/vqt.py`, `model/vision_transformer.py`
  L228-L238 and L261-L266) differs: after dropping the query tokens from the stream it appends
  `F.normalize(x[:, :vqt_num])`, i.e. the first ordinary tokens (the class token ...), not the query outputs, so its
  query tokens never reach the loss; and it combines the features by a learnable weighted sum
  (`nn.Linear(vqt_num * depth + 1, 1)`, ones) into a D-wide feature. That variant is not reproduced.
- Count on ViT-B/16 (head excluded): layers * T * D = 12 * 1 * 768 = 9,216; the head is (768 + 12*768) * classes +
  classes.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from . import _features, _vit
from .base import Method, MethodConfig
from .layers.adapter import reinit_linear_
from .registry import register


class VQTConfig(MethodConfig):
    num_tokens: int = Field(1, ge=1)  # official README L42 "can be simply set to 1" (config default 5)
    dropout: float = Field(0.1, ge=0, lt=1)  # run_vqt_vtab.sh MODEL.H2T.DROPOUT "0.1"
    combine: Literal["concat", "mean", "weighted-sum"] = "concat"  # official default concat
    normalize: bool = True  # official NORMALIZE_FEATS=True: each layer's feature L2-normalised
    # official: kaiming-normal fan_out, bias -log(99); "timm": trunc-normal std 0.02, zero bias
    head_init: Literal["official", "timm"] = "official"


def _query_attention(attn: nn.Module, p: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """timm `Attention` with queries from `p` (B, T, C) and keys/values from `h` (B, N, C), both normalised."""
    b, t, _ = p.shape
    n, heads, hd, width = h.shape[1], attn.num_heads, attn.head_dim, attn.attn_dim
    w, bias = attn.qkv.weight, attn.qkv.bias
    q = F.linear(p, w[:width], None if bias is None else bias[:width]).reshape(b, t, heads, hd).transpose(1, 2)
    kv = F.linear(h, w[width:], None if bias is None else bias[width:]).reshape(b, n, 2, heads, hd)
    k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)
    q, k = attn.q_norm(q), attn.k_norm(k)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=attn.attn_drop.p if attn.training else 0.0)
    out = attn.norm(out.transpose(1, 2).reshape(b, t, width))
    if getattr(attn, "gate", None) is not None:
        out = out * attn.gate(p).sigmoid()
    return attn.proj_drop(attn.proj(out))


def _vqt_block(block: nn.Module, x: torch.Tensor, p: torch.Tensor, **kwargs: object) -> tuple[torch.Tensor, ...]:
    """(the block's output for the ordinary tokens, the query tokens' output)."""
    # nothing in the ordinary stream requires grad (frozen backbone), so autograd records no graph there
    h = block.norm1(x)  # the keys and values the query tokens read
    x_out = type(block).forward(block, x, **kwargs)  # the backbone's own block: features unchanged
    p = p + block.drop_path1(block.ls1(_query_attention(block.attn, block.norm1(p), h)))
    return x_out, p + block.drop_path2(block.ls2(block.mlp(block.norm2(p))))


def _vqt_forward_features(
    model: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    """The final-normed tokens followed by every block's query outputs: (B, N + layers * T, D)."""
    x = _features.embed_tokens(model, x)
    outputs = []
    for i, block in enumerate(model.blocks):
        p = model.vqt_dropout(model.vqt_queries[i]).expand(x.shape[0], -1, -1)
        x, p = _vqt_block(block, x, p, attn_mask=attn_mask, is_causal=is_causal)
        outputs.append(p)
    return torch.cat([model.norm(x), *outputs], dim=1)


def _vqt_forward_head(model: nn.Module, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
    layers, t = model.vqt_queries.shape[:2]
    tokens, queries = x[:, : x.shape[1] - layers * t], x[:, x.shape[1] - layers * t :]
    feats = [model.fc_norm(model.pool(tokens))]
    per_layer = queries.reshape(x.shape[0], layers, t, -1)
    combine = model.vqt_combine_mode
    for i in range(layers):
        q = per_layer[:, i]
        if combine == "mean":
            feats.append(q.mean(dim=1))
        elif combine == "weighted-sum":
            feats.append((model.vqt_combine[i][None, :, None] * q).sum(dim=1))
        else:
            feats.append(q.flatten(1))
    if model.vqt_normalize:
        feats = [F.normalize(f, dim=-1) for f in feats]
    out = model.head_drop(torch.cat(feats, dim=1))
    return out if pre_logits else model.head(out)


def _official_head_init_(head: nn.Linear) -> None:
    """VQT's `MLP` last layer (`src/models/mlp.py` L52-L57): kaiming-normal fan_out weight, bias -log(99)."""
    with torch.no_grad():
        nn.init.kaiming_normal_(head.weight, a=0, mode="fan_out")
        nn.init.constant_(head.bias, -math.log((1 - 0.01) / 0.01))


@register("vqt", config=VQTConfig, mergeable=False, identity_at_init=False, paper="2212.03220")
class VQT(Method):
    cfg: VQTConfig

    def check_model(self, model: nn.Module) -> None:
        blocks = _vit.require_standard_blocks(model, self.spec.id)
        for i in range(len(blocks)):
            _vit.linear_at(model, f"blocks.{i}.attn.qkv", self.spec.id)

    def apply(self, model: nn.Module) -> None:
        dim, layers, t = _vit.embed_dim(model), len(_vit.blocks(model)), self.cfg.num_tokens
        ref = _vit.blocks(model)[0].norm1.weight
        ph, pw = model.patch_embed.patch_size
        bound = math.sqrt(6.0 / float(3 * ph * pw + dim))
        queries = torch.empty(layers, t, dim, device=ref.device, dtype=ref.dtype)
        model.vqt_queries = nn.Parameter(nn.init.uniform_(queries, -bound, bound))
        model.vqt_dropout = nn.Dropout(self.cfg.dropout)
        if self.cfg.combine == "weighted-sum":
            model.vqt_combine = nn.Parameter(torch.ones(layers, t, device=ref.device, dtype=ref.dtype))
        model.vqt_combine_mode = self.cfg.combine  # plain attributes read by the head forward
        model.vqt_normalize = self.cfg.normalize
        self._new_head(model, dim + layers * (t * dim if self.cfg.combine == "concat" else dim))
        _features.set_forward_features(model, _vqt_forward_features)
        _features.set_forward_head(model, _vqt_forward_head)

    def _new_head(self, model: nn.Module, features: int) -> None:
        """A linear head over the concatenated features (none if the model has no classifier)."""
        old = model.head
        if not isinstance(old, nn.Linear):
            return
        head = nn.Linear(features, old.out_features).to(old.weight.device, old.weight.dtype)
        if self.cfg.head_init == "official":
            _official_head_init_(head)
        else:
            reinit_linear_(head)
        model.head = head
