"""GPS: selection against a re-typing of the official mask rule, masked training against the official gradient
masking, the contrastive loss, counts on ViT-B/16, errors. Tiny synthetic data only."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn
from vpeft import methods
from vpeft.methods import gps
from vpeft.methods.counting import parameter_counts

from tests.methods.conftest import make_input, make_vit
from tests.methods.published import ROOT, published_vtab_params

Tensor = torch.Tensor
C, ROWS_PER_BLOCK = 768, 3 * 768 + 768 + 4 * 768 + 768  # qkv, proj, fc1, fc2 output rows of a ViT-B/16 block


def batches(n: int = 2, supcon: bool = True, seed: int = 3) -> list[tuple[Tensor, ...]]:
    gen = torch.Generator().manual_seed(seed)
    out: list[tuple[Tensor, ...]] = []
    for i in range(n):
        x = make_input(batch=4, seed=seed + i)
        y = torch.randint(0, 3, (4,), generator=gen)
        out.append((x, x + 0.1 * torch.randn(x.shape, generator=gen), y) if supcon else (x, y))
    return out


def official_mask(grad: Tensor, k: int) -> np.ndarray:
    """`prune_by_percentile_gradient_perCell` (GPS@72e0c31 utils/pruning.py L15-L32), re-typed: 1 = frozen."""
    tensor = grad.reshape(grad.shape[0], -1).numpy()
    new_mask = np.ones_like(tensor)
    for ind in range(k):
        max_index = abs(tensor).argsort(1)[:, -(ind + 1)]
        one_hot = ~np.eye(max(tensor.shape))[max_index][:, : tensor.shape[1]].astype(bool)
        new_mask = (new_mask.astype(int) & one_hot.astype(int)).astype(np.float32)
    return new_mask


def plain_gradients(loss: str, data: list[tuple[Tensor, ...]]) -> dict[str, Tensor]:
    """Official `calculate_gradient`: train mode, every weight requires grad, gradients summed over the batches."""
    plain = make_vit().train()
    for x in data:
        if loss == "supcon":
            f = plain.forward_head(plain.forward_features(torch.cat([x[0], x[1]])), pre_logits=True)
            gps.supcon_loss(*f.split(len(x[0])), x[2]).backward()
        else:
            F.cross_entropy(plain(x[0]), x[1]).backward()
    return {n: p.grad for n, p in plain.named_parameters() if p.grad is not None}


@pytest.mark.parametrize(("loss", "k"), [("supcon", 1), ("ce", 2)])
def test_selection_is_the_official_mask(loss: str, k: int) -> None:
    data = batches(supcon=loss == "supcon")
    grads = plain_gradients(loss, data)
    model = methods.apply(make_vit(), "gps", k=k)
    gps.select(model, data, loss=loss)  # type: ignore[arg-type]
    layers = {n: m for n, m in model.named_modules() if isinstance(m, gps.GPSWeight)}
    assert len(layers) == 1 + 4 * len(model.blocks)
    for name, layer in layers.items():
        mask = official_mask(grads[f"{name}.weight"], k)
        ours = np.ones_like(mask)
        np.put_along_axis(ours, layer.gps_index.numpy(), 0.0, axis=1)
        assert (ours == mask).all(), name
        assert bool(layer.gps_selected)
    assert all(p.grad is None for p in model.parameters())


def official_masked_training(data: list[tuple[Tensor, ...]], index: dict[str, Tensor], lr: float) -> nn.Module:
    """The official training: all parameters in Adam (weight decay 0); before each step the gradient of the
    frozen entries is set to 0 (`utils/cuda.py` L25-L30), with the mask rule of `utils/pruning.py` L10-L13."""
    model = make_vit().train()
    mask = {}
    for name, p in model.named_parameters():
        if "norm" in name or "pos_embed" in name or "cls_token" in name:
            mask[name] = torch.ones_like(p)
        elif "head" in name or "bias" in name:
            mask[name] = torch.zeros_like(p)
        else:
            flat = torch.ones(p.shape[0], p[0].numel()).scatter_(1, index[name.removesuffix(".weight")], 0.0)
            mask[name] = flat.reshape(p.shape)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=0)
    for x, _, y in data:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        for name, p in model.named_parameters():
            p.grad = torch.where(mask[name] == 1.0, mask[name] - 1.0, p.grad)
        opt.step()
    return model


def test_masked_training_matches_the_official_gradient_masking() -> None:
    data = batches(n=3)
    model = methods.apply(make_vit(), "gps", k=2)
    gps.select(model, data)
    index = {n: m.gps_index for n, m in model.named_modules() if isinstance(m, gps.GPSWeight)}
    lr = 1e-3
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0)
    model.train()
    for x, _, y in data:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    reference = official_masked_training(data, index, lr)
    img = make_input(batch=3, seed=9)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(img), reference.eval()(img), atol=1e-5, rtol=1e-5)
        w0 = make_vit().blocks[0].attn.qkv.weight
        changed = (model.blocks[0].attn.qkv.weight() != w0).sum(dim=1)
    assert changed.max() <= 2 and changed.sum() > 0  # at most k entries per row moved
    assert torch.equal(model.blocks[0].norm1.weight, make_vit().blocks[0].norm1.weight)


def test_supcon_loss_against_a_per_anchor_loop() -> None:
    gen = torch.Generator().manual_seed(0)
    f1, f2, y = torch.randn(5, 7, generator=gen), torch.randn(5, 7, generator=gen), torch.tensor([0, 1, 0, 2, 1])
    z, labels, t = F.normalize(torch.cat([f1, f2]), dim=1), y.repeat(2), 0.07
    per_anchor = []
    for i in range(len(z)):
        others = [j for j in range(len(z)) if j != i]
        denominator = torch.logsumexp(torch.stack([z[i] @ z[j] / t for j in others]), 0)
        positives = [j for j in others if labels[j] == labels[i]]
        per_anchor.append(-torch.stack([z[i] @ z[j] / t - denominator for j in positives]).mean())
    torch.testing.assert_close(gps.supcon_loss(f1, f2, y), torch.stack(per_anchor).mean())


@pytest.mark.parametrize("k", [1, 2, 20])
def test_count_on_vit_b16_is_analytic(k: int) -> None:
    rows = 12 * ROWS_PER_BLOCK + C  # plus the patch embedding's 768 output channels
    assert parameter_counts("gps", "vit_base_patch16_224", k=k).trainable_excluding_head == k * rows + rows
    assert parameter_counts("gps", "vit_base_patch16_224", k=1, train_biases=False).trainable_excluding_head == rows


def test_mean_over_the_vtab_scripts_is_017m() -> None:
    """The per-task k of the official scripts (the recipe's per_task) averaged: 0.17M; V-PETL Bench prints 0.22M."""
    recipe = yaml.safe_load((ROOT / "catalog" / "recipes" / "gps.yaml").read_text())
    ks = [v["method.k"] for v in recipe["benchmarks"]["vtab-1k"]["per_task"]["values"].values()]
    assert len(ks) == 19 and sorted(set(ks)) == [1, 2]
    rows = 12 * ROWS_PER_BLOCK + C
    mean = sum(k * rows + rows for k in ks) / len(ks)
    assert round(mean / 1e6, 2) == 0.17
    assert published_vtab_params("gps") == "0.22M"


def test_select_errors_and_the_untrained_warning() -> None:
    with pytest.raises(ValueError, match="apply the 'gps' method"):
        gps.select(make_vit(), batches())
    model = methods.apply(make_vit(), "gps")
    with pytest.raises(ValueError, match="no gradient reached"):
        gps.select(model, [])
    with pytest.warns(UserWarning, match="before methods.gps.select"):
        model.train()(make_input())
    with torch.no_grad():
        model.blocks[0].attn.qkv.gps_delta.fill_(0.1)
    with pytest.raises(ValueError, match="already been trained"):
        gps.select(model, batches())
    with pytest.raises(ValueError, match="larger than a row"):
        methods.apply(make_vit(), "gps", k=10_000)


def test_a_loaded_model_keeps_its_selection(tmp_path) -> None:  # noqa: ANN001
    model = methods.apply(make_vit(), "gps")
    gps.select(model, batches())
    methods.save_trained(model, tmp_path / "gps.safetensors")
    loaded = methods.load_trained(make_vit(), tmp_path / "gps.safetensors")
    assert torch.equal(loaded.blocks[1].mlp.fc1.gps_index, model.blocks[1].mlp.fc1.gps_index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.train()(make_input())  # selected: no warning
