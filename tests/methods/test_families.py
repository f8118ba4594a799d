"""Backbone families (issue 14, item 3): detection from timm classes, declarations, the one-message refusal."""

from __future__ import annotations

import pytest
from timm.models.deit import VisionTransformerDistilled
from torch import nn
from vpeft import methods
from vpeft.methods import _families
from vpeft.methods.base import Method, MethodConfig, UnsupportedModelError

from tests.methods.conftest import FAMILY_MODELS, VIT_ARCHITECTURES, make_architecture, make_family_model, make_vit


@pytest.mark.parametrize("family", list(FAMILY_MODELS))
def test_family_of_each_tiny_model(family: str) -> None:
    assert _families.family_of(make_family_model(family)) == family


def test_vit_variants_are_the_vit_family() -> None:
    found = {_families.family_of(make_architecture(a)) for a in VIT_ARCHITECTURES} | {_families.family_of(make_vit())}
    distilled = VisionTransformerDistilled(img_size=32, patch_size=16, embed_dim=48, depth=1, num_heads=3)
    assert found == {"vit"} and _families.family_of(distilled) == "vit"
    assert _families.family_of(nn.Linear(2, 2)) is None


def test_every_declared_family_is_known() -> None:
    assert all(set(methods.get(m).families) <= set(_families.FAMILIES) for m in methods.available())


@pytest.mark.parametrize("families", [(), ("vit", "mobilenet")])
def test_register_refuses_unknown_families(families: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="families must be a non-empty subset of vit, eva, swin"):
        methods.register("test-no-such-family", config=MethodConfig, families=families)(type("M", (Method,), {}))
    assert "test-no-such-family" not in methods.available()


def test_default_family_is_vit() -> None:
    assert methods.get("vpt-deep").families == ("vit",)


def test_refusal_names_method_family_and_supported() -> None:
    with pytest.raises(UnsupportedModelError) as exc:
        _families.require_family(make_family_model("convnext"), "lora", ("vit", "swin"))
    assert str(exc.value) == (
        "method 'lora' does not support family 'convnext' (timm.models.convnext.ConvNeXt); supported families: "
        "vit: timm VisionTransformer (vit_*, deit_*, CLIP, DINOv2, MAE-style ViTs); swin: timm SwinTransformer "
        "(swin_*)")


def _ssf_count(model_name: str) -> int:
    from vpeft.methods.counting import parameter_counts

    return parameter_counts("ssf", model_name).trainable_excluding_head


def test_ssf_on_swin_b_wraps_the_official_operations() -> None:
    """dongzelian/SSF e94e0e7 models/swin_transformer.py: per block qkv (3C), proj, fc1 (4C), fc2, norm1, norm2
    (11C); patch-embedding conv and norm; each patch-merging norm (4 C_prev); the final norm. Scale + shift: x2."""
    dims, depths = (128, 256, 512, 1024), (2, 2, 18, 2)
    blocks = sum(11 * c * d for c, d in zip(dims, depths, strict=True))
    merging = sum(4 * c for c in dims[:-1])
    assert _ssf_count("swin_base_patch4_window7_224") == 2 * (blocks + 2 * dims[0] + merging + dims[-1])


def test_ssf_on_convnext_t_wraps_the_official_operations() -> None:
    """dongzelian/SSF e94e0e7 models/convnext.py: per block conv_dw, norm, fc1 (4C), fc2 (7C); stem conv and norm;
    each downsample's norm (C_prev) and conv (C); the features after norm_pre. Scale + shift: x2."""
    dims, depths = (96, 192, 384, 768), (3, 3, 9, 3)
    blocks = sum(7 * c * d for c, d in zip(dims, depths, strict=True))
    downsample = sum(p + c for p, c in zip(dims, dims[1:], strict=False))
    assert _ssf_count("convnext_tiny") == 2 * (blocks + 2 * dims[0] + downsample + dims[-1])
