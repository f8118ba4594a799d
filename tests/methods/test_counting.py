"""`methods.counting`: meta-device counts equal real-model counts; fallbacks; models with two heads."""

from __future__ import annotations

import pytest
import timm
import torch
import vpeft.methods.counting as counting
from timm.models.deit import VisionTransformerDistilled
from torch import nn
from vpeft import methods
from vpeft.methods.counting import UnknownModelError, meta_model, parameter_counts

TINY = "vit_tiny_patch16_224"


@pytest.mark.parametrize("method_id", ["lora", "ssf", "vpt-deep", "convpass"])
def test_meta_counts_equal_real_counts(method_id: str) -> None:
    real = methods.apply(timm.create_model(TINY, pretrained=False), method_id)
    total = sum(p.numel() for p in real.parameters())
    expected = (total, methods.trainable_parameters(real, include_head=True), methods.trainable_parameters(real))
    got = parameter_counts(method_id, TINY)
    assert (got.total, got.trainable, got.trainable_excluding_head) == expected


def test_meta_model_allocates_nothing() -> None:
    model = meta_model(TINY)
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize("name", [TINY, "convnext_atto", "swin_tiny_patch4_window7_224"])
def test_meta_model_has_the_real_models_parameters(name: str) -> None:
    """Skipping initialisation on meta (ViTs) or not (families without the option) changes no parameter."""
    def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
        return {k: tuple(p.shape) for k, p in model.named_parameters()}

    assert shapes(meta_model(name)) == shapes(timm.create_model(name, pretrained=False))


def test_meta_vit_skips_initialisation(monkeypatch: pytest.MonkeyPatch) -> None:
    from timm.models.vision_transformer import VisionTransformer

    monkeypatch.setattr(VisionTransformer, "init_weights", lambda *a, **k: pytest.fail("initialised a meta ViT"))
    meta_model(TINY)
    assert meta_model(TINY, weight_init="skip") is not None  # an explicit option is passed through


def test_unknown_model() -> None:
    with pytest.raises(UnknownModelError, match="unknown timm model 'no_such_vit'"):
        parameter_counts("lora", "no_such_vit")


def test_falls_back_to_cpu_when_meta_cannot_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """A method that reads tensor data cannot run on meta tensors; the count is then taken on a CPU model."""
    real_apply = counting.apply
    devices: list[bool] = []

    def apply_reading_data(model: nn.Module, method_id: str, **options: object) -> nn.Module:
        devices.append(next(model.parameters()).is_meta)
        if devices[-1]:
            raise NotImplementedError("Cannot copy out of meta tensor; no data!")
        return real_apply(model, method_id, **options)

    monkeypatch.setattr(counting, "apply", apply_reading_data)
    got = parameter_counts("lora", TINY, r=4)
    assert devices == [True, False]
    assert got.trainable_excluding_head == 12 * 4 * (192 + 3 * 192)


def test_distilled_deit_has_both_heads_trainable_and_excluded() -> None:
    torch.manual_seed(0)
    model = VisionTransformerDistilled(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=5)
    methods.apply(model, "lora")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {"head.weight", "head.bias", "head_dist.weight", "head_dist.bias"} <= trainable
    lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    assert methods.trainable_parameters(model) == lora
    assert methods.trainable_parameters(model, include_head=True) == lora + 2 * (48 * 5 + 5)
    model.train()
    model(torch.randn(2, 3, 32, 32)).sum().backward()  # the mean of both heads
    assert model.head_dist.weight.grad is not None and model.head.weight.grad is not None
