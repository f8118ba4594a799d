"""Adapter (Houlsby-style): sequential bottleneck adapters in every block (Houlsby et al., ICML 2019,
arXiv:1902.00751), as evaluated on VTAB-1k by V-PETL Bench ("Adapter", 0.16M).

Sources and choices:
- Paper (Sec. 2.1, Fig. 2) and official code google-research/adapter-bert (commit 1a31fc6, `modeling.py`
  `feedforward_adapter` and the two `adapter_fn` calls): one adapter after the attention output projection and one
  after the feed-forward output, each applied to the sub-layer's output before the residual add, with its own skip
  connection: a(y) = y + up(gelu(down(y))). adapter-bert also trains every LayerNorm (`optimization.py`: the
  "adapters", "layer_norm" and "head" collections).
- V-PETL Bench (synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit c188fad,
  `ImageClassification/models/vision_transformer_adapter.py`, `scripts/run_vit_adapter.sh`: topN=96) inserts ONE
  adapter per block, after the MLP (on ls2(mlp(norm2(x))), inside drop-path), hidden size 768 // 96 = 8, GELU,
  and trains only adapters and head. Its count is the published one:
  12 * (768*8 + 8 + 8*768 + 768) = 156,768 = 0.16M. Defaults follow V-PETL Bench's placement and size
  (`placement="mlp"`, `dim=8`); `placement="both"` is the paper's two adapters per block (0.31M on ViT-B/16) and
  `train_norms=True` adds adapter-bert's LayerNorm training (the block norms norm1 / norm2).
- Init: V-PETL Bench sets every adapter weight and bias to zero. With both projections zero no gradient ever
  reaches either weight matrix (d up = g * gelu(0)^T = 0, d down = up^T g ... = 0), so only the up bias would train;
  we do not copy that. Default `init="houlsby"`: the paper's near-identity start (Sec. 2.1), i.e. the shared
  `Bottleneck`'s "houlsby" init, weights from a zero-mean normal with std 1e-2 truncated at 2 std and zero biases
  (the std is the value that layer documents from the paper; adapter-bert's code uses truncated normals with
  `init_scale` 1e-3 and zero biases). `init="zero_up"` (zero up projection: the model starts exactly as the
  backbone) is available too.
- ViT vs BERT: BERT is post-norm (adapter before "add & norm"); in timm's pre-norm block the same spot is the
  branch output before the residual add, which is where both V-PETL Bench and we put it. LayerScale (if any) is
  applied before the adapter, as in V-PETL Bench.
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


class AdapterHoulsbyConfig(MethodConfig):
    dim: int = Field(8, ge=1)  # V-PETL Bench run_vit_adapter.sh topN=96 -> 768 // 96 = 8 (commit c188fad)
    placement: Literal["mlp", "both"] = "mlp"  # V-PETL Bench: after the MLP only; "both": paper / adapter-bert
    init: Literal["houlsby", "zero_up"] = "houlsby"  # paper Sec. 3.6 near-identity init (V-PETL: all zeros)
    act: Literal["gelu", "relu"] = "gelu"  # adapter-bert feedforward_adapter and V-PETL Bench: GELU
    train_norms: bool = False  # adapter-bert trains LayerNorms too; V-PETL Bench does not (the 0.16M count)


def _houlsby_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    y = block.ls1(block.attn(block.norm1(x), attn_mask=attn_mask, is_causal=is_causal))
    if hasattr(block, "adapter_houlsby_attn"):
        y = y + block.adapter_houlsby_attn(y)
    x = x + block.drop_path1(y)
    y = block.ls2(block.mlp(block.norm2(x)))
    x = x + block.drop_path2(y + block.adapter_houlsby_mlp(y))
    return x


@register("adapter-houlsby", config=AdapterHoulsbyConfig, mergeable=False, paper="1902.00751")
class AdapterHoulsby(Method):
    cfg: AdapterHoulsbyConfig

    def identity_at_init(self) -> bool:
        return self.cfg.init == "zero_up"

    def apply(self, model: nn.Module) -> None:
        dim = _vit.embed_dim(model)
        names = ["adapter_houlsby_attn"] if self.cfg.placement == "both" else []
        names.append("adapter_houlsby_mlp")

        def make() -> dict[str, nn.Module]:
            return {n: Bottleneck(dim, self.cfg.dim, act=self.cfg.act, init=self.cfg.init) for n in names}

        insert_per_block(model, self.spec.id, make, _houlsby_block_forward)
        if self.cfg.train_norms:
            for block in _vit.blocks(model):
                block.norm1.requires_grad_(True)
                block.norm2.requires_grad_(True)

    def owns(self, name: str) -> bool:
        parts = name.split(".")
        if self.cfg.train_norms and len(parts) == 4 and parts[0] == "blocks" and parts[2] in ("norm1", "norm2"):
            return True
        return super().owns(name)
