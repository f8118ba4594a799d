"""Prefix tuning: learnable key/value prefixes in every attention layer (Li & Liang, ACL 2021, arXiv:2101.00190).

Sources and choices:
- Paper (Sec. 4): every layer's attention also attends to `length` extra positions whose keys and values are free
  parameters; the paper trains them through a re-parameterisation P = MLP(P') (Sec. 4.3) for stability and keeps
  only P afterwards.
- V-PETL Bench (github.com/synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit c188fad) has no image
  prefix-tuning code; its video code `VideoActionRecognition/models/video_swin_transformer_Prefix-tuning.py`
  (mode `prefix_qk`, which despite its name prefixes keys and values) gives each attention layer its own
  `nn.Embedding(length, C)` followed by Linear(C, mid) -> Tanh -> Linear(mid, 2C), split into per-head key and
  value prefixes appended to k and v. Defaults from its train script
  (`VideoActionRecognition/train/train_model_Prefix-tuning .py`): att_preseqlen=20, att_mid_dim=64. We follow this
  per-layer design. The paper's official code (github.com/XiangLi1999/PrefixTuning, commit 48dbaff,
  `seq2seq/prefixTuning.py`, `control_trans`) instead shares one MLP over all layers, Linear(C, mid) -> Tanh ->
  Linear(mid, depth x 2 x C), with mid_dim 512 by default. `reparameterize=False` trains the (2, length, C)
  prefixes of each layer directly. Neither code applies prefix dropout by default (`prefix_dropout` 0.0).
- Init: the embedding N(0, 1) and PyTorch's default Linear init (what nn.Embedding / nn.Linear give, as in both
  codes); direct prefixes (no MLP) start from N(0, 0.02^2) like timm's class token (no source prescribes it).
- Placement inside timm's `Attention`: prefixes are concatenated in front of the sequence's keys and values after
  `q_norm`/`k_norm` (they are keys already, not inputs to the projection); attention runs through
  `F.scaled_dot_product_attention` with timm's attention dropout. An `attn_mask` gets the prefix columns unmasked;
  `is_causal` is refused (a causal mask over prefix + sequence is not what the paper defines for an encoder).
- Not the identity at init (the prefix keys receive attention weight), not mergeable. The trained MLP can be folded
  into plain prefixes (`PrefixEncoder.prefixes()`), which is the inference-time form.

PARAM_NOTES (ViT-B/16: C=768, 12 layers; head excluded). V-PETL Bench's VTAB-1k table has no prefix-tuning row
(its FGVC table prints 0.36M, with no setting given). Default (length 20, mid 64, reparameterised):
12 x (20*768 + 768*64+64 + 64*1536+1536) = 12 x 164,416 = 1,972,992 = 1.97M trained; the folded prefixes the model
keeps for inference are 12 x 2 x 20 x 768 = 368,640 = 0.37M (what `reparameterize=False` trains).
"""

from __future__ import annotations

import torch
from pydantic import Field
from timm.models.vision_transformer import Attention
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .layers.prefixed_attention import prefixed_attention, require_timm_attention
from .registry import register


class PrefixConfig(MethodConfig):
    # V-PETL Bench c188fad, VideoActionRecognition/train/train_model_Prefix-tuning .py: --att_preseqlen 20
    length: int = Field(20, ge=1)
    # same script: --att_mid_dim 64 (hidden width of the re-parameterisation MLP)
    mid_dim: int = Field(64, ge=1)
    reparameterize: bool = True  # paper Sec. 4.3 and V-PETL Bench: prefixes produced by an MLP during training


class PrefixEncoder(nn.Module):
    """Produces one layer's key and value prefixes, shape (2, length, C)."""

    def __init__(self, dim: int, cfg: PrefixConfig) -> None:
        super().__init__()
        self.length, self.dim = cfg.length, dim
        if cfg.reparameterize:
            self.embedding = nn.Parameter(torch.randn(cfg.length, dim))  # nn.Embedding's N(0, 1)
            self.mlp = nn.Sequential(nn.Linear(dim, cfg.mid_dim), nn.Tanh(), nn.Linear(cfg.mid_dim, 2 * dim))
        else:
            self.embedding = nn.Parameter(torch.randn(2, cfg.length, dim) * 0.02)
            self.mlp = None

    def prefixes(self) -> torch.Tensor:
        if self.mlp is None:
            return self.embedding
        return self.mlp(self.embedding).reshape(self.length, 2, self.dim).transpose(0, 1)


def _prefix_attention_forward(
    attn: Attention, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    """timm's Attention with this layer's key/value prefixes in front of the sequence's keys and values."""
    enc: PrefixEncoder = attn.prefix_tuning
    pk, pv = enc.prefixes().reshape(2, enc.length, attn.num_heads, attn.head_dim).transpose(1, 2)
    return prefixed_attention(attn, x, pk, pv, attn_mask, is_causal, "prefix-tuning")


@register("prefix-tuning", config=PrefixConfig, mergeable=False, identity_at_init=False, paper="2101.00190")
class PrefixTuning(Method):
    cfg: PrefixConfig

    def check_model(self, model: nn.Module) -> None:
        require_timm_attention(_vit.require_vit(model, self.spec.id), self.spec.id, _vit.SUPPORTED)

    def apply(self, model: nn.Module) -> None:
        for block in _vit.blocks(model):
            attn: Attention = block.attn
            ref = attn.qkv.weight
            attn.prefix_tuning = PrefixEncoder(attn.num_heads * attn.head_dim, self.cfg).to(ref.device, ref.dtype)
            _vit.set_forward(attn, _prefix_attention_forward)
