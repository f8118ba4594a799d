"""E2VPT: An Effective and Efficient Approach for Visual Prompt Tuning (Han et al., ICCV 2023, arXiv:2307.13770).
Implemented without the pruning stage.

Two kinds of prompts: visual prompts in the token sequence (as VPT-deep) and key-value prompts inside every
attention layer (extra key/value positions, as prefix tuning). The paper's third part, token-wise and segment-wise
prompt pruning with rewinding, is a second training stage driven by task data and is not implemented here.

Sources and choices (official code github.com/ChengHan111/E2VPT, commit 7a66e75):
- Defaults are `src/configs/config.py`'s `MODEL.P_VK` values: NUM_TOKENS_P=5 visual prompts, DEEP_P=True (a fresh
  set before every block), DROPOUT_P=0.0; NUM_TOKENS=5 key-value prompts in every layer (DEEP=True),
  DROPOUT=0.0, QUERY_PROMPT_MODE=0 (prompts on keys and values only), SHARE_PARAM_KV=True (one tensor serves as
  both the key and the value prompt), LAYER_BEHIND=True (prompts in front of the sequence), ORIGIN_INIT=2
  (kaiming-uniform). These are the code's defaults, not a per-task setting. `share_kv=False` gives separate key
  and value prompts.
- Per-task settings are published in `command.txt` ("Documented Version (Origin 5runs on VTAB-1k)", L1-L46, and
  "... on FGVC", L48-L58): NUM_TOKENS_P (our `num_tokens`) 32/5/10/1/10/10/10 on the natural tasks (caltech101,
  cifar100, dtd, flowers102, pets, sun397, svhn), 10 on the four specialized ones, 10/10/10/5/5/10/10/10 on the
  structured ones (clevr_count, clevr_dist, dmlab, dsprites_loc, dsprites_ori, kitti, smallnorb_azi,
  smallnorb_ele); NUM_TOKENS (our `num_kv_tokens`) 5 except flowers102 1 and patch_camelyon 10; 5 / 5 on every
  FGVC task; and `MODEL.P_VK.DROPOUT_P "0.1"` (our `dropout`) on every command. Learning rate and weight decay
  still come from the grid search of `tune_vtab_CVK.py` / `tune_fgvc_fiveRuns.py`. All of these are options here.
- Visual prompt dropout is per example, as VPT's (`src/models/vit_prompt/vit_prompt_VK.py` L134, L183: dropout after
  `expand(B, -1, -1)`).
- Visual prompts: identical to our VPT-deep (`methods/vpt.py`: official VPT init bound from patch size and width,
  prompt dropout, prompts after the class/register tokens, replaced before every block, removed before the head's
  pooling); `src/models/vit_prompt/vit_prompt_VK.py` uses the same code as VPT.
- Key-value prompts: per layer a (heads, num_kv_tokens, head_dim) tensor, kaiming-uniform with a=0, fan_in, leaky
  relu gain (bound sqrt(6 / (num_kv_tokens * head_dim)) for this 3-d shape, official `ORIGIN_INIT=2`), dropout
  `kv_dropout` (official `QKV_dropout`: one call for the key and one for the value prompt, each after expanding to
  the batch, so the masks are per example), placed in front of the sequence's keys and values
  (`src/models/vit_backbones/vit_changeVK.py`, `Attention.forward` L298-L309, QUERY_PROMPT_MODE 0). In timm they
  join after `q_norm`/`k_norm` (identity for standard ViTs).
- The official model also holds all-ones pruning masks as parameters (`prompt_soft_tokens_mask_cls_token`, ...) for
  the pruning stage; without pruning they are not created.
- Pooling: as VPT (prompts removed before the final norm and timm's pooling). Not the identity at init, not mergeable.

PARAM_NOTES (ViT-B/16: C=768, 12 layers, 12 heads of 64; head excluded; no V-PETL Bench row): visual prompts
12 x 5 x 768 = 46,080, shared key-value prompts 12 x 12 x 5 x 64 = 46,080; total 92,160 = 0.09M (separate key and
value prompts: 138,240). The paper's VTAB-1k figure (0.32% of the backbone, README) is a mean over the per-task
lengths after pruning (the pruning stage is not implemented), so it is not reproduced.
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
from .vpt import init_bound, insert_prompts


class E2VPTConfig(MethodConfig):
    num_tokens: int = Field(5, ge=1)  # ChengHan111/E2VPT 7a66e75 src/configs/config.py: P_VK.NUM_TOKENS_P = 5
    dropout: float = Field(0.0, ge=0, lt=1)  # P_VK.DROPOUT_P = 0.0
    num_kv_tokens: int = Field(5, ge=1)  # P_VK.NUM_TOKENS = 5
    kv_dropout: float = Field(0.0, ge=0, lt=1)  # P_VK.DROPOUT = 0.0
    share_kv: bool = True  # P_VK.SHARE_PARAM_KV = True


class KVPrompts(nn.Module):
    """One layer's key-value prompts: `e2vpt_kv` (1 or 2, heads, length, head_dim)."""

    def __init__(self, heads: int, head_dim: int, cfg: E2VPTConfig) -> None:
        super().__init__()
        self.e2vpt_kv = nn.Parameter(torch.empty(1 if cfg.share_kv else 2, heads, cfg.num_kv_tokens, head_dim))
        for t in self.e2vpt_kv:  # per tensor, as the official code initialises each (heads, length, head_dim) one
            nn.init.kaiming_uniform_(t, a=0, mode="fan_in", nonlinearity="leaky_relu")
        self.dropout = nn.Dropout(cfg.kv_dropout)

    def keys_values(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, heads, length, head_dim) key and value prompts. As the official code, each is expanded to the batch
        before its own dropout call (key first), so masks differ per example and between key and value even
        when one tensor serves as both (`vit_changeVK.py` L298-L309)."""
        kv = self.e2vpt_kv
        key = self.dropout(kv[0].unsqueeze(0).expand(batch, -1, -1, -1))
        value = self.dropout(kv[-1].unsqueeze(0).expand(batch, -1, -1, -1))  # shared: kv[-1] is kv[0]
        return key, value


def _kv_prompt_attention_forward(
    attn: Attention, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    pk, pv = attn.e2vpt.keys_values(x.shape[0])
    return prefixed_attention(attn, x, pk, pv, attn_mask, is_causal, "e2vpt")


@register("e2vpt", config=E2VPTConfig, mergeable=False, identity_at_init=False, paper="2307.13770")
class E2VPT(Method):
    cfg: E2VPTConfig

    def check_model(self, model: nn.Module) -> None:
        require_timm_attention(_vit.require_vit(model, self.spec.id), self.spec.id, _vit.SUPPORTED)
        init_bound(model)

    def apply(self, model: nn.Module) -> None:
        insert_prompts(model, self.cfg.num_tokens, self.cfg.dropout, deep=True)
        for block in _vit.blocks(model):
            attn: Attention = block.attn
            ref = attn.qkv.weight
            attn.e2vpt = KVPrompts(attn.num_heads, attn.head_dim, self.cfg).to(ref.device, ref.dtype)
            _vit.set_forward(attn, _kv_prompt_attention_forward)

    def owns(self, name: str) -> bool:
        """The visual prompts keep VPT's names (blocks.{i}.vpt_prompt); the key-value prompts are `e2vpt`."""
        return any(part.startswith(("e2vpt", "vpt_prompt")) for part in name.split("."))
