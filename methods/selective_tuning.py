"""Selective tuning: fine-tune only the attention weights (`attn-tune`) or only the MLP weights (`mlp-tune`) of a ViT,
from "Three things everyone should know about Vision Transformers" (Touvron et al., ECCV 2022, arXiv:2203.09795).

Sources and choices:
- Paper (abstract, arXiv:2203.09795): "Fine-tuning the weights of the attention layers is sufficient to adapt vision
  transformers to a higher resolution and to other classification tasks". The paper's section on it was not read
  beyond the abstract; what is trained is taken from the official code.
- Official code: github.com/facebookresearch/deit, commit 7e160fe, `README_3things.md` L28-L30 ("finetune only the
  attentions (flag --attn-only)") and `main.py` L154 (`--attn-only`) and L310-L330: every parameter whose name
  contains ".attn." trains (each block's qkv and proj, weights and biases), the classifier head trains, the
  position embedding trains ("try: model.pos_embed.requires_grad = True"), the patch embedding is frozen, and
  everything else (MLPs, LayerNorms, class token) is frozen. `attn-tune`'s defaults are that setting
  (`target="full"`, every block, `pos_embed=True`).
- PETL_Vision (github.com/OSU-MLB/PETL_Vision, commit 245d262, `experiment/build_model.py` L36-L62; README L155-L161
  "Selective Attention Tuning" `--attention_index 9 10 11 --attention_type qkv`, "Selective MLP Tuning"
  `--mlp_index 9 10 11 --mlp_type full`) trains the chosen linears (`qkv`, `proj` or both; `fc1`, `fc2` or both)
  of the listed blocks, plus the head, and not the position embedding. That is `blocks="9,10,11"`,
  `target=...`, `pos_embed=False` here. Its selection is by substring (`str(i) + '.attn.qkv' in name`), so index 1
  also selects block 11 and index 0 block 10; we select exactly the listed blocks (identical for 9, 10, 11).
- `mlp-tune` is the MLP counterpart (PETL_Vision's selective MLP tuning; the deit code has no MLP-only flag):
  default every block's fc1 and fc2 (`target="full"`), no position embedding.
- Nothing is added: the trained tensors are the backbone's own, so `merge` has nothing to fold (mergeable).
- Counts on ViT-B/16 (computed in tests/methods/test_selective_tuning.py): attn-tune 12 * (768*2304 + 2304 +
  768*768 + 768) + 197*768 = 28,499,712 (28.5M); mlp-tune 12 * (768*3072 + 3072 + 3072*768 + 768) = 56,669,184.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .registry import register


class _BlocksConfig(MethodConfig):
    # block indices, comma-separated, or "all" (deit); PETL_Vision's README example: "9,10,11"
    blocks: str = Field("all", pattern=r"^(all|\d+(,\d+)*)$")

    @field_validator("blocks", mode="before")
    @classmethod
    def _one_index(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value  # `--set blocks=11`


class AttnTuneConfig(_BlocksConfig):
    target: Literal["full", "qkv", "proj"] = "full"  # deit --attn-only: every ".attn." parameter
    pos_embed: bool = True  # deit main.py L322-L323 trains pos_embed; PETL_Vision does not


class MLPTuneConfig(_BlocksConfig):
    target: Literal["full", "fc1", "fc2"] = "full"  # PETL_Vision --mlp_type (default full)
    pos_embed: bool = False  # PETL_Vision trains no position embedding


class _SelectiveTuning(Method):
    """Unfreezes the chosen linears of the chosen blocks (and optionally the position embedding)."""

    cfg: AttnTuneConfig | MLPTuneConfig
    module: ClassVar[str]  # "attn" or "mlp"
    linears: ClassVar[dict[str, tuple[str, ...]]]  # target -> linear names inside `module`

    def __init__(self, cfg: MethodConfig) -> None:
        super().__init__(cfg)
        self._names: set[str] = set()

    def _chosen(self, depth: int) -> list[int]:
        if self.cfg.blocks == "all":
            return list(range(depth))
        return sorted({int(i) for i in self.cfg.blocks.split(",")})

    def check_model(self, model: nn.Module) -> None:
        super().check_model(model)
        depth = len(_vit.blocks(model))
        bad = [i for i in self._chosen(depth) if i >= depth]
        if bad:
            raise ValueError(f"{self.spec.id}: option blocks: {bad} out of range; the model has blocks 0..{depth - 1}")

    def apply(self, model: nn.Module) -> None:
        for i in self._chosen(len(_vit.blocks(model))):
            for linear in self.linears[self.cfg.target]:
                name = f"blocks.{i}.{self.module}.{linear}"
                for p_name, p in _vit.linear_at(model, name, self.spec.id).named_parameters():
                    p.requires_grad_(True)
                    self._names.add(f"{name}.{p_name}")
        pos = getattr(model, "pos_embed", None)
        if self.cfg.pos_embed and isinstance(pos, nn.Parameter):
            pos.requires_grad_(True)
            self._names.add("pos_embed")

    def merge(self, model: nn.Module) -> None:
        """Nothing to fold: the trained tensors are the backbone's own."""

    def owns(self, name: str) -> bool:
        return name in self._names


@register("attn-tune", config=AttnTuneConfig, mergeable=True, identity_at_init=True, paper="2203.09795")
class AttnTune(_SelectiveTuning):
    module = "attn"
    linears = {"full": ("qkv", "proj"), "qkv": ("qkv",), "proj": ("proj",)}


@register("mlp-tune", config=MLPTuneConfig, mergeable=True, identity_at_init=True, paper="2203.09795")
class MLPTune(_SelectiveTuning):
    module = "mlp"
    linears = {"full": ("fc1", "fc2"), "fc1": ("fc1",), "fc2": ("fc2",)}
