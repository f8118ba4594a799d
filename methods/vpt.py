"""VPT: Visual Prompt Tuning (Jia et al., ECCV 2022, arXiv:2203.12119), shallow and deep.

Sources and choices:
- Official code: github.com/KMnP/vpt, commit 4410440 (`src/models/vit_prompt/vit.py`, `vit_mae.py`,
  `src/configs/config.py`, `demo.ipynb`). V-PETL Bench: github.com/synbol/Parameter-Efficient-Transfer-Learning-
  Benchmark, commit c188fad (`ImageClassification/models/vision_transformer_vptshallow.py`,
  `ImageClassification/scripts/run_vit_vptshallow.sh`).
- Placement: `num_tokens` prompt tokens go between the prefix tokens and the patch tokens, after the position
  embedding (prompts have no position embedding), i.e. at the input of block 0. The official code puts them after
  the class token; timm models may also have register tokens, which we treat like the class token (prompts after
  all `num_prefix_tokens`); models without a class token get the prompts first.
- Deep: before every block i >= 1 the previous block's outputs at the prompt positions are dropped and block i's
  own prompts put in their place (official `forward_deep_prompt`); so a deep model has depth x num_tokens prompts
  (official: `prompt_embeddings` for block 0 plus `deep_prompt_embeddings` for the other depth-1 blocks).
- Init: uniform(-v, v) with v = sqrt(6 / (3 * patch_h * patch_w + dim)), the official xavier-style bound from the
  patch size and width. V-PETL Bench uses v = sqrt(6 / dim) instead; we follow the official code.
- Prompt dropout: official `self.prompt_dropout(self.prompt_proj(emb).expand(B, -1, -1))` (KMnP/vpt 4410440,
  `src/models/vit_prompt/vit.py` L82 and L114-L115): the prompts are expanded to the batch first, so every example
  gets its own dropout mask, at every insertion. We do the same (`_prompt`).
- Defaults: shallow 100 tokens, dropout 0.0 (demo.ipynb: "we don't use dropout for VPT-shallow"; V-PETL Bench's
  shallow model has no prompt dropout). Deep: the official `p=50` command of demo.ipynb (L17-L25:
  `MODEL.PROMPT.NUM_TOKENS "50"`, `MODEL.PROMPT.DROPOUT "0.0"`), i.e. 50 tokens and dropout 0.0. The VTAB-1k
  numbers come from per-task settings instead: the published commands (demo.ipynb, vtab-dmlab 100 tokens,
  vtab-sun397 5, vtab-eurosat 100) all use `MODEL.PROMPT.DROPOUT "0.1"`, so a VTAB run sets `num_tokens` per task
  and `dropout=0.1` (the recipe does). The config default `PROMPT.DROPOUT` is 0.0 (`src/configs/config.py` L74).
- Pooling: the prompts are removed after the last block, before the final norm and the head, so timm's own
  pooling (`global_pool` token / avg / map and `fc_norm`) sees exactly [prefix | patches] again. For class-token
  models this is the official "original" pool (the class token). For average pooling it is the official
  `VIT_POOL_TYPE="img_pool"` (mean over image patches only); the official "original" pool of the MAE variant and
  V-PETL Bench's avg branch (`x[:, num_tokens:]` with num_tokens = 1) would include the prompts in the mean; we
  keep them out so that prompts never leak into an average over patches. The norm is per token, so removing the
  prompts before `model.norm` is the same as after it.
- Train mode: the official code keeps the backbone in eval mode while training (`train()` override: no dropout /
  drop-path in the frozen encoder). We leave train/eval to the caller, as for every method here.
- Computation reorganised but equal: the last block removes the prompts right after its attention (where they
  still serve as keys and values) instead of after the block, so its norm and MLP do not run on prompt outputs
  that are thrown away (timm's `Block`; other block types strip after the block). The rest of the train step's
  cost over full fine-tuning is the longer sequence itself (196 patches + 1 + 100 prompts on ViT-B/16 at 224:
  1.5x the tokens of every block, 2.3x the attention scores), which no reorganisation removes.
- Attention masks (`attn_mask` / `is_causal`) change length with the prompts and are refused with a clear error.
- Not the identity at init (prompt tokens take part in attention), not mergeable.

PARAM_NOTES (ViT-B/16, dim 768, depth 12; head excluded): shallow = num_tokens x dim, deep = depth x num_tokens x
dim. V-PETL Bench's VTAB-1k figures (0.08M shallow, 0.56M deep) are per-task settings averaged over tasks.
- vpt-shallow default num_tokens=100: V-PETL Bench's run_vit_vptshallow.sh runs every VTAB task with topN=100
  (prompt_len). 100 x 768 = 76,800 = 0.08M, equal to the published 0.08M.
- vpt-deep default num_tokens=50: the `p=50` command of the official demo.ipynb. 12 x 50 x 768 = 460,800 = 0.46M.
  The published 0.56M averages the per-task prompt lengths of the VPT paper's supplementary hyper-parameter
  files (linked from the official README; not reachable here), so it is not reproduced by one setting:
  0.56M would be an average prompt length of about 61 tokens. Use `num_tokens=...` for the per-task value.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from timm.models.vision_transformer import Block
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .registry import register

_PREFIX = "vpt"  # parameter prefix shared by both ids: blocks.{i}.vpt_prompt


class VPTShallowConfig(MethodConfig):
    num_tokens: int = Field(100, ge=1)  # V-PETL Bench run_vit_vptshallow.sh (c188fad): topN=100 on every VTAB task
    dropout: float = Field(0.0, ge=0, lt=1)  # KMnP/vpt demo.ipynb (4410440): no dropout for VPT-shallow


class VPTDeepConfig(MethodConfig):
    num_tokens: int = Field(50, ge=1)  # KMnP/vpt demo.ipynb (4410440): the p=50 example command for VPT-deep
    dropout: float = Field(0.0, ge=0, lt=1)  # demo.ipynb p=50 command: 0.0 (its VTAB commands: 0.1, per-task length)


def init_bound(model: nn.Module) -> float:
    """The official xavier-style bound sqrt(6 / (3 * patch area + dim))."""
    patch = getattr(getattr(model, "patch_embed", None), "patch_size", None)
    if patch is None:
        raise _vit.UnsupportedModelError(f"method 'vpt' needs a patch embedding with a patch size; {_vit.SUPPORTED}")
    area = math.prod(int(p) for p in patch)
    return math.sqrt(6.0 / (3 * area + _vit.embed_dim(model)))


def _check_plain(attn_mask: torch.Tensor | None, is_causal: bool) -> None:
    if attn_mask is not None or is_causal:
        raise ValueError("vpt: attention masks / is_causal are not supported (prompts change the sequence length)")


def _prompt(block: nn.Module, batch: int) -> torch.Tensor:
    """This block's prompts expanded to the batch, then dropout: one mask per example, as the official code."""
    return block.vpt_dropout(block.vpt_prompt.unsqueeze(0).expand(batch, -1, -1))


def _vpt_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    """Insert (block 0) or replace (deep, later blocks) prompts, run the block, strip prompts after the last one."""
    _check_plain(attn_mask, is_causal)
    p, n = block.vpt_num_prefix, block.vpt_num_tokens
    if hasattr(block, "vpt_prompt"):
        keep = x[:, p:] if block.vpt_first else x[:, p + n :]  # the first block has no previous prompts to drop
        x = torch.cat([x[:, :p], _prompt(block, x.shape[0]).to(x.dtype), keep], dim=1)
    if block.vpt_last and type(block).forward is Block.forward:
        # the prompts' outputs of the last block are dropped: they serve as keys and values, but their MLP is skipped
        x = x + _vit.attn_branch(block, x, None, False)
        x = torch.cat([x[:, :p], x[:, p + n :]], dim=1)
        return x + _vit.mlp_branch(block, x)
    x = type(block).forward(block, x)
    if block.vpt_last:
        x = torch.cat([x[:, :p], x[:, p + n :]], dim=1)
    return x


def insert_prompts(model: nn.Module, num_tokens: int, dropout: float, *, deep: bool) -> None:
    """Give block 0 (every block if `deep`) prompts `blocks.{i}.vpt_prompt` and route the blocks through VPT."""
    blocks = _vit.blocks(model)
    dim, bound = _vit.embed_dim(model), init_bound(model)
    ref = next(model.parameters())
    for i, block in enumerate(blocks):
        block.vpt_num_prefix = _vit.num_prefix_tokens(model)
        block.vpt_num_tokens = num_tokens
        block.vpt_first, block.vpt_last = i == 0, i == len(blocks) - 1
        if i == 0 or deep:
            prompt = torch.empty(num_tokens, dim, device=ref.device, dtype=ref.dtype)
            block.vpt_prompt = nn.Parameter(nn.init.uniform_(prompt, -bound, bound))
            block.vpt_dropout = nn.Dropout(dropout)
        if hasattr(block, "vpt_prompt") or block.vpt_last:
            _vit.set_forward(block, _vpt_block_forward)


class _VPT(Method):
    """Shared apply for both variants; `deep` selects which blocks get their own prompts."""

    deep = False
    cfg: VPTShallowConfig | VPTDeepConfig

    def check_model(self, model: nn.Module) -> None:
        _vit.require_vit(model, self.spec.id)
        init_bound(model)

    def apply(self, model: nn.Module) -> None:
        insert_prompts(model, self.cfg.num_tokens, self.cfg.dropout, deep=self.deep)


@register("vpt-shallow", config=VPTShallowConfig, mergeable=False, identity_at_init=False, paper="2203.12119",
          prefix=_PREFIX)
class VPTShallow(_VPT):
    cfg: VPTShallowConfig
    deep = False


@register("vpt-deep", config=VPTDeepConfig, mergeable=False, identity_at_init=False, paper="2203.12119",
          prefix=_PREFIX)
class VPTDeep(_VPT):
    cfg: VPTDeepConfig
    deep = True
