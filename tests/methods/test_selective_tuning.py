"""attn-tune / mlp-tune: the trained set against the official selection rules, options and ViT-B/16 counts."""

from __future__ import annotations

import pytest
from vpeft import methods

from tests.methods.conftest import make_vit
from tests.methods.published import vit_b16_trainable

D, H, DEPTH, TOKENS = 768, 3072, 12, 197  # ViT-B/16 at 224: 196 patches + the class token


def trainable(model: object) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}  # type: ignore[attr-defined]


def test_attn_tune_trains_what_deit_attn_only_trains() -> None:
    """deit main.py L310-L330 (commit 7e160fe): names containing '.attn.', the head and pos_embed."""
    model = methods.apply(make_vit(), "attn-tune")
    expected = {n for n, _ in model.named_parameters() if ".attn." in n or n.startswith("head.")} | {"pos_embed"}
    assert trainable(model) == expected
    assert not any(n.startswith("patch_embed.") or ".mlp." in n or "norm" in n for n in trainable(model))


def test_petl_vision_selective_attention_setting() -> None:
    """PETL_Vision README: --attention_index 9 10 11 --attention_type qkv (here on a 3-block ViT: blocks 1,2)."""
    model = methods.apply(make_vit("patch4-img24"), "attn-tune", blocks="1,2", target="qkv", pos_embed=False)
    expected = {f"blocks.{i}.attn.qkv.{w}" for i in (1, 2) for w in ("weight", "bias")}
    assert trainable(model) == expected | {"head.weight", "head.bias"}


def test_mlp_tune_targets_and_blocks() -> None:
    model = methods.apply(make_vit(), "mlp-tune")
    expected = {f"blocks.{i}.mlp.{fc}.{w}" for i in (0, 1) for fc in ("fc1", "fc2") for w in ("weight", "bias")}
    assert trainable(model) == expected | {"head.weight", "head.bias"}
    model = methods.apply(make_vit(), "mlp-tune", blocks=1, target="fc2")
    assert trainable(model) == {"blocks.1.mlp.fc2.weight", "blocks.1.mlp.fc2.bias", "head.weight", "head.bias"}


def test_out_of_range_blocks_are_refused_with_the_option_named() -> None:
    with pytest.raises(ValueError, match="option blocks: \\[5\\] out of range"):
        methods.apply(make_vit(), "attn-tune", blocks="0,5")
    with pytest.raises(ValueError, match="blocks"):
        methods.apply(make_vit(), "mlp-tune", blocks="1;2")


def test_counts_on_vit_b16() -> None:
    attn_block = D * 3 * D + 3 * D + D * D + D
    mlp_block = D * H + H + H * D + D
    assert vit_b16_trainable("attn-tune") == DEPTH * attn_block + TOKENS * D == 28_499_712
    assert vit_b16_trainable("attn-tune", pos_embed=False, blocks="9,10,11", target="qkv") == 3 * (D * 3 * D + 3 * D)
    assert vit_b16_trainable("mlp-tune") == DEPTH * mlp_block == 56_669_184
    assert vit_b16_trainable("mlp-tune", blocks="9,10,11") == 3 * mlp_block
