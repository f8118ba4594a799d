"""Adapter (Pfeiffer): one sequential bottleneck adapter per block, after the MLP only (Pfeiffer et al.,
"AdapterFusion: Non-Destructive Task Composition for Transfer Learning", EACL 2021, arXiv:2005.00247).

Sources and choices:
- The paper proposes AdapterFusion; its single-task adapter (the "knowledge extraction" stage) is the architecture
  the adapters library ships as "pfeiffer" (`ADAPTER_CONFIG_MAP["pfeiffer"] = SeqBnConfig()`, whose docstring says
  "The adapter architecture proposed by Pfeiffer et al. (2020)"). Source of truth for the architecture here:
  github.com/adapter-hub/adapters, commit 88f18eb, `src/adapters/configuration/adapter_config.py` L281-L296
  (`SeqBnConfig`, formerly `PfeifferConfig`) on top of `BnConfig` L133-L260: `mh_adapter=False` (no adapter after
  attention), `output_adapter=True` (one after the feed-forward), `reduction_factor=16`, `non_linearity="relu"`,
  `original_ln_before=True`, `original_ln_after=True`, `residual_before_ln=True`, no new LayerNorms, `scaling=1.0`,
  `dropout=0.0`, `init_weights="bert"`. The paper's PDF section on the adapter architecture was not read; only its
  title, authors and abstract (ACL Anthology 2021.eacl-main.39).
- What those flags compute (`src/adapters/methods/modeling.py` `Adapter.pre_forward` L157-L203, `forward`
  L205-L239, `post_forward` L241-L262; `methods/bottleneck.py` `bottleneck_layer_forward` L348-L381; width
  `hidden_size // reduction_factor` L107) for a pre-norm ViT, where the library passes no layer norm
  (`models/vit/modeling_vit.py` L104-L109: `bottleneck_layer_forward(mlp_output, input_tensor, None)`). With h the
  MLP branch output and x the block's stream before it: the residual is h (`residual_before_ln`), the adapter reads
  h + x (`original_ln_before` without a LayerNorm is just the residual add) and returns up(relu(down(h + x))) + h,
  and `original_ln_after` adds x again:
      x_out = x + h + up(relu(down(x + h)))
  So the adapter reads the residual stream after the MLP's add, not the MLP output alone (Houlsby's placement reads
  the branch output, `adapter_houlsby.py`). Our h is timm's drop_path(ls2(mlp(norm2(x)))) (the library's ViT
  applies its hidden dropout to the dense output before the adapter too); the adapter branch is not dropped.
- Bottleneck width: `reduction_factor` 16 -> 768 // 16 = 48 on ViT-B/16 (`dim` overrides it). Count on
  ViT-B/16: 12 * (768*48 + 48 + 48*768 + 768) = 894,528 (0.89M); no published vision count was read.
- Init "bert" (`Adapter.init_bert_weights` L264-L276): every Linear weight N(0, 0.02^2), biases zero; we draw it with
  the shared `Bottleneck`'s "official-reinit" (timm trunc-normal std 0.02 truncated at +-2 absolute, i.e. 100 std:
  the same distribution in practice). The library's other choices are reachable: "mam_adapter" (down
  kaiming-uniform, up and biases zero: starts exactly as the backbone; our "zero_up") and "houlsby".
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from . import _vit
from ._blocks import insert_per_block
from .base import Method, MethodConfig
from .layers.adapter import Bottleneck
from .registry import register

_INITS = {"bert": "official-reinit", "mam_adapter": "zero_up", "houlsby": "houlsby"}


class AdapterPfeifferConfig(MethodConfig):
    reduction_factor: int = Field(16, ge=1)  # adapters SeqBnConfig reduction_factor=16 (commit 88f18eb, L296)
    dim: int | None = Field(None, ge=1)  # bottleneck width; None: embed_dim // reduction_factor
    act: Literal["relu", "gelu"] = "relu"  # SeqBnConfig non_linearity="relu" (L295)
    init: Literal["bert", "mam_adapter", "houlsby"] = "bert"  # BnConfig init_weights="bert" (L236)
    dropout: float = Field(0.0, ge=0, lt=1)  # BnConfig dropout=0.0 (L247), on the adapter's up output
    scaling: float = 1.0  # BnConfig scaling=1.0 (L239)


class PfeifferAdapter(nn.Module):
    """up(act(down(v))) * scaling, then dropout, as the library's `Adapter.forward` (L205-L213)."""

    def __init__(self, dim: int, hidden: int, cfg: AdapterPfeifferConfig) -> None:
        super().__init__()
        self.bottleneck = Bottleneck(dim, hidden, act=cfg.act, init=_INITS[cfg.init], scale=cfg.scaling)  # type: ignore[arg-type]
        self.dropout = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.bottleneck(x))


def _pfeiffer_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    x = x + _vit.attn_branch(block, x, attn_mask, is_causal)
    x = x + _vit.mlp_branch(block, x)  # original_ln_before (no LayerNorm in a pre-norm ViT): the residual add
    return x + block.adapter_pfeiffer(x)  # the adapter's own skip (residual h) and original_ln_after's x


@register("adapter-pfeiffer", config=AdapterPfeifferConfig, mergeable=False, paper="2005.00247")
class AdapterPfeiffer(Method):
    cfg: AdapterPfeifferConfig

    def identity_at_init(self) -> bool:
        return self.cfg.init == "mam_adapter"

    def apply(self, model: nn.Module) -> None:
        dim = _vit.embed_dim(model)
        hidden = self.cfg.dim if self.cfg.dim is not None else max(1, dim // self.cfg.reduction_factor)
        cfg = self.cfg
        make = lambda: {"adapter_pfeiffer": PfeifferAdapter(dim, hidden, cfg)}  # noqa: E731
        insert_per_block(model, self.spec.id, make, _pfeiffer_block_forward)
