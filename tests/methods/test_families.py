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
