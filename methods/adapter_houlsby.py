"""Adapter (Houlsby-style): sequential bottleneck adapters in every block (Houlsby et al., ICML 2019,
arXiv:1902.00751), as evaluated on VTAB-1k by V-PETL Bench ("Adapter", 0.16M).

Sources and choices:
- Paper (Sec. 2.1, Fig. 2) and official code google-research/adapter-bert (commit 1a31fc6, `modeling.py`
  `feedforward_adapter` and the two `adapter_fn` calls): one adapter after the attention output projection and one
  after the feed-forward output, each applied to the sub-layer's output before the residual add, with its own skip
  connection: a(y) = y + up(gelu(down(y))). adapter-bert also trains every LayerNorm (`optimization.py`: the
  "adapters", "layer_norm" and "head" collections).
- V-PETL Bench (github.com/synbol/Parameter-Efficient-Transfer-Learning-Benchmark, commit c188fad,
  `ImageClassification/models/vision_transformer_adapter.py` L196-L266, `scripts/run_vit_adapter.sh`: topN=96)
  inserts ONE adapter per block, after the MLP (on ls2(mlp(norm2(x))), inside drop-path), hidden size
  768 // 96 = 8, GELU, no dropout, and trains only adapters and head. Its count is the published one:
  12 * (768*8 + 8 + 8*768 + 768) = 156,768 = 0.16M. Defaults follow this placement and size
  (`placement="mlp"`, `dim=8`); `placement="both"` is the paper's two adapters per block (0.31M on ViT-B/16) and
  `train_norms=True` adds adapter-bert's LayerNorm training (the block norms norm1 / norm2).
- The VTAB-1k number compared with (0.16M) is NOAH's (arXiv:2206.04673, Table 1; the same 19 numbers are in
  `figures/table1.jpg` of the repository below). NOAH's adapter (github.com/
  ZhangYuanhan-AI/NOAH, commit e9c55f3, `model/module/adapter_super.py` L8-L74; rank 8 from
  `experiments/Adapter/ViT-B_prompt_adapter_8.yaml`) is y + up(dropout(quick_gelu(down(y)))) with QuickGELU
  x * sigmoid(1.702 x) and dropout `--drop_rate_adapter` 0.1 (`supernet_train_prompt.py` L209, not overridden by
  `configs/Adapter/VTAB/slurm_train_adapter_vtab.sh`), placed as `x + adapter(drop_path(mlp(norm2(x))))`
  (`model/supernet_vision_transformer_timm.py` L365): the adapter reads the drop-path'ed MLP output and its own
  branch is not dropped. Same in eval; in training a dropped example still gets up(act(down_bias)).
  That setting is `act="quick_gelu", dropout=0.1, drop_path_position="before", init="official-reinit"`.
- Init actually used by the reference code: both V-PETL Bench (written all zeros, L210-L214, then `init_weights`
  at L385) and NOAH (written xavier / N(0, 1e-6) bias, `adapter_super.py` L37-L45, then `init_weights` at
  `supernet_vision_transformer_timm.py` L462 -> `_init_vit_weights` L531, L684-L688) re-initialise every nn.Linear
  of the model after building it: weights timm trunc-normal std 0.02, biases zero. So in effect their adapters
  start at N(0, 0.02^2) with zero biases (`init="official-reinit"`), not at what their adapter classes write.
- Default `init="houlsby"`: the paper's near-identity start (Sec. 2.1), i.e. the shared `Bottleneck`'s "houlsby"
  init, weights from a zero-mean normal with std 1e-2 truncated at 2 std and zero biases (the std is the value
  that layer documents from the paper; adapter-bert's code uses truncated normals with `init_scale` 1e-3 and zero
  biases). `init="zero_up"` (zero up projection: the model starts exactly as the backbone) is available too.
- ViT vs BERT: BERT is post-norm (adapter before "add & norm"); in timm's pre-norm block the same spot is the
  branch output before the residual add, which is where both V-PETL Bench and we put it. LayerScale (if any) is
  applied before the adapter, as in V-PETL Bench.
- Swin (family "swin"): the same sequential adapters after each sub-layer of every window-attention block, sized
  to the stage's width (the paper's definition is per transformer sub-layer, Sec. 2.1). V-PETL Bench at commit
  c188fad has no Swin adapter to compare with (its Swin code is the video Swin of `VideoActionRecognition/`).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from . import _vit
from ._blocks import insert_per_block_sized
from .base import Method, MethodConfig
from .layers.adapter import Bottleneck
from .registry import register


class AdapterHoulsbyConfig(MethodConfig):
    dim: int = Field(8, ge=1)  # V-PETL Bench run_vit_adapter.sh topN=96 -> 768 // 96 = 8 (commit c188fad)
    placement: Literal["mlp", "both"] = "mlp"  # V-PETL Bench: after the MLP only; "both": paper / adapter-bert
    # paper near-identity init; "official-reinit": N(0, .02^2) weights, zero biases (NOAH / V-PETL in effect)
    init: Literal["houlsby", "zero_up", "official-reinit"] = "houlsby"
    act: Literal["gelu", "quick_gelu", "relu"] = "gelu"  # adapter-bert and V-PETL Bench: GELU; NOAH: QuickGELU
    dropout: float = Field(0.0, ge=0, lt=1)  # after the activation; adapter-bert / V-PETL: none; NOAH: 0.1
    # "around": drop_path(y + a(y)) (V-PETL Bench); "before": y' = drop_path(y), then y' + a(y') (NOAH)
    drop_path_position: Literal["around", "before"] = "around"
    train_norms: bool = False  # adapter-bert trains LayerNorms too; V-PETL Bench does not (the 0.16M count)


def _with_adapter(block: nn.Module, y: torch.Tensor, name: str, drop_path: nn.Module) -> torch.Tensor:
    """The branch output y with its adapter, drop-path placed as `block.adapter_houlsby_drop_path` says."""
    adapter = getattr(block, name, None)
    if adapter is None:
        return drop_path(y)
    if block.adapter_houlsby_drop_path == "before":
        y = drop_path(y)
        return y + adapter(y)
    return drop_path(y + adapter(y))


def _houlsby_block_forward(
    block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    y = _vit.attn_out(block, x, attn_mask, is_causal)
    x = x + _with_adapter(block, y, "adapter_houlsby_attn", block.drop_path1)
    y = _vit.mlp_out(block, x)
    return x + _with_adapter(block, y, "adapter_houlsby_mlp", block.drop_path2)


@register("adapter-houlsby", config=AdapterHoulsbyConfig, mergeable=False, paper="1902.00751",
          families=("vit", "swin"))
class AdapterHoulsby(Method):
    cfg: AdapterHoulsbyConfig

    def identity_at_init(self) -> bool:
        return self.cfg.init == "zero_up"

    def apply(self, model: nn.Module) -> None:
        names = ["adapter_houlsby_attn"] if self.cfg.placement == "both" else []
        names.append("adapter_houlsby_mlp")

        cfg = self.cfg

        def make(dim: int) -> dict[str, nn.Module]:
            return {n: Bottleneck(dim, cfg.dim, act=cfg.act, init=cfg.init, dropout=cfg.dropout) for n in names}

        insert_per_block_sized(model, self.spec.id, make, _houlsby_block_forward)
        for block in _vit.blocks(model):
            block.adapter_houlsby_drop_path = cfg.drop_path_position  # a plain attribute read by the block forward
        if self.cfg.train_norms:
            for block in _vit.blocks(model):
                block.norm1.requires_grad_(True)
                block.norm2.requires_grad_(True)

    def owns(self, name: str) -> bool:
        parts = name.split(".")
        if self.cfg.train_norms and "blocks" in parts[:-2] and parts[-2] in ("norm1", "norm2"):
            return True  # blocks.{i}.norm1.weight (ViT), layers.{s}.blocks.{j}.norm1.weight (Swin)
        return super().owns(name)
