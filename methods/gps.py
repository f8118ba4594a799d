"""GPS: Gradient-based Parameter Selection (Zhang et al., CVPR 2024, arXiv:2312.10136).

No module is added: for every output neuron (row) of every weight matrix, the k input connections with the largest
gradient magnitude on the downstream data are selected, and only those entries (plus biases and head) are trained.

Sources (github.com/FightingFighting/GPS, commit 72e0c31):
- Selection, `utils/pruning.py` `prune_by_percentile_gradient_perCell` (L5-L42): per parameter, by name:
  "norm", "pos_embed", "cls_token" -> frozen; "head", "bias", "gamma" (layer scale) -> fully trained; every other
  weight (qkv, proj, fc1, fc2, and the patch embedding's conv reshaped to (out, in * kh * kw)) -> in each row the
  entries holding the 1st ... k-th largest |grad| are trained (`times_para` = k, L22-L28).
- Gradient, `train_gps.py` `calculate_gradient` (L572-L627), called once before training (L483-L489): one pass
  over the training loader in train mode, gradients summed over all batches (no zero_grad between them). With
  `--contrastive` (every released script, `train_scripts/vit/{vtab,fgvc}/*/train_gps.sh`) the loss is the
  supervised contrastive loss (`utils/loss_utils.py` `SupConLoss`, temperature 0.07, base temperature 0.07, all
  views as anchors, L-2 normalised features) of two augmented views (`--contrast-aug`) of each image, on the
  pooled feature (`models/vision_transformer.py` L549-L556: final norm, then the class token or the patch mean).
  Otherwise it is the training loss (cross-entropy).
- Training: every parameter requires grad (`optim_factory.py` L322-L323, tuning mode "part"), and before each
  step the gradient of unselected entries is set to 0 (`utils/cuda.py` `maks_gradient`, L25-L30); Adam with
  weight decay 0 (VTAB scripts `--opt adam --weight-decay 0`) then never moves them.
- Ours: each selected weight becomes `GPSWeight`: the frozen weight W plus a trainable `gps_delta` of shape
  (rows, k) scattered at the selected columns `gps_index` (a buffer, saved): W + scatter(delta). With Adam and no
  weight decay this trains exactly what the official masked gradient trains (the update of an Adam parameter does
  not depend on its value; tests/methods/test_gps.py compares both); with weight decay the official code would
  decay the whole selected entry, ours only the change. Biases of the wrapped layers train (`train_biases`), as
  the official "bias" rule; norms, position embedding and class token stay frozen. Mergeable: W + scatter(delta)
  is written back into W. The block linears go through `_SelectedLinear`, which keeps only the layer input for
  backward and rebuilds the weight there (the delta's gradient is the (out, in) weight gradient at the selected
  entries), so no weight-sized tensor per layer is held between forward and backward.
- Order of use: `methods.apply(model, "gps", k=1)`, then `methods.gps.select(model, batches)` on the training data
  (the official order: selection on the pretrained model, then training), then train. Before `select` the index
  is a placeholder (columns 0 ... k-1; a training forward warns) and `select` refuses a model whose deltas have
  already moved. `vpeft reproduce` does not run `select` (its loop has no selection pass).
- Defaults: k = 1 (`--times_para 1` in 18 of the 19 VTAB-1k scripts; patch_camelyon uses 2; FGVC scripts 1 to 20).

Count on ViT-B/16 (C = 768, 12 blocks), excluding the head: selected entries k x rows, rows per block 3C + C + 4C
+ C = 6,912, patch embedding C; biases the same numbers: 2 x (12 x 6,912 + 768) = 167,424 for k = 1 (0.17M).
V-PETL Bench prints 0.22M, which no per-task k of the scripts gives (tests/methods/test_gps.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from . import _vit
from .base import Method, MethodConfig
from .registry import register

_BLOCK_LINEARS = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")


class GPSConfig(MethodConfig):
    k: int = Field(1, ge=1)  # --times_para 1 in 18 of the 19 VTAB-1k scripts (patch_camelyon: 2)
    train_biases: bool = True  # official: every "bias" parameter outside the norms trains fully
    patch_embed: bool = True  # official: the patch embedding's conv is selected too (reshaped to rows)


class UnselectedWarning(UserWarning):
    """Training a GPS model whose entries were not selected by `select` yet."""


class GPSWeight(nn.Module):
    """A frozen nn.Linear or nn.Conv2d whose weight is W + scatter(gps_delta at gps_index), row by row."""

    def __init__(self, base_layer: nn.Linear | nn.Conv2d, k: int) -> None:
        super().__init__()
        rows, cols = base_layer.weight.shape[0], base_layer.weight[0].numel()
        if k > cols:
            raise ValueError(f"gps: k={k} is larger than the {cols} inputs of a row of {type(base_layer).__name__}")
        self.base_layer = base_layer
        w = base_layer.weight
        self.gps_delta = nn.Parameter(torch.zeros(rows, k, device=w.device, dtype=w.dtype))
        index = torch.arange(k, device=w.device).expand(rows, k).clone()  # placeholder until `select`
        self.register_buffer("gps_index", index)
        # saved with the index, so that a loaded model knows its index was selected
        self.register_buffer("gps_selected", torch.tensor(False, device=w.device))

    def weight(self) -> torch.Tensor:
        w = self.base_layer.weight
        flat = w.reshape(w.shape[0], -1).scatter_add(1, self.gps_index, self.gps_delta.to(w.dtype))
        return flat.reshape(w.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and torch.is_grad_enabled() and not self.gps_selected:
            warnings.warn("gps: training before methods.gps.select(...): the trained entries are a placeholder "
                          "(the first k columns), not the gradient-selected ones", UnselectedWarning, stacklevel=2)
        if isinstance(self.base_layer, nn.Conv2d):
            return self.base_layer._conv_forward(x, self.weight(), self.base_layer.bias)
        if torch.is_grad_enabled():
            return _SelectedLinear.apply(x, self.base_layer.weight, self.base_layer.bias, self.gps_index,
                                         self.gps_delta)
        return F.linear(x, self.weight(), self.base_layer.bias)

    @torch.no_grad()
    def merge(self) -> nn.Module:
        self.base_layer.weight.copy_(self.weight())
        return self.base_layer


def _effective(weight: torch.Tensor, index: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    flat = weight.reshape(weight.shape[0], -1).scatter_add(1, index, delta.to(weight.dtype))
    return flat.reshape(weight.shape)


class _SelectedLinear(torch.autograd.Function):
    """F.linear(x, W + scatter(delta), b) that keeps only x for backward and rebuilds the weight there, so no
    weight-sized tensor is held between forward and backward (autograd would keep the built weight). Under
    autocast it computes in the autocast dtype, as F.linear would."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, index: torch.Tensor,
                delta: torch.Tensor) -> torch.Tensor:
        device = x.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
        ctx.dtype, ctx.device, ctx.has_bias = dtype, device, bias is not None
        ctx.save_for_backward(x, weight, index, delta)
        with torch.autocast(device, enabled=False):
            w = _effective(weight, index, delta).to(dtype)
            return F.linear(x.to(dtype), w, None if bias is None else bias.to(dtype))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, index, delta = ctx.saved_tensors
        with torch.autocast(ctx.device, enabled=False):
            g = grad.to(ctx.dtype)
            gx = gweight = gdelta = gbias = None
            if ctx.needs_input_grad[0]:
                gx = (g @ _effective(weight, index, delta).to(ctx.dtype)).to(x.dtype)
            g2 = g.reshape(-1, g.shape[-1])
            if ctx.needs_input_grad[1] or ctx.needs_input_grad[4]:
                full = g2.T @ x.reshape(-1, x.shape[-1]).to(ctx.dtype)  # the (out, in) weight gradient
                if ctx.needs_input_grad[1]:  # `select` asks for it
                    gweight = full.to(weight.dtype)
                if ctx.needs_input_grad[4]:
                    gdelta = full.gather(1, index).to(delta.dtype)
            if ctx.has_bias and ctx.needs_input_grad[2]:
                gbias = g2.sum(dim=0)
        return gx, gweight, gbias, None, gdelta


def _targets(model: nn.Module, cfg: GPSConfig) -> list[tuple[str, nn.Module]]:
    found: list[tuple[str, nn.Module]] = []
    if cfg.patch_embed:
        proj = getattr(getattr(model, "patch_embed", None), "proj", None)
        if not isinstance(proj, nn.Conv2d):
            raise _vit.UnsupportedModelError(f"method 'gps' needs a Conv2d at 'patch_embed.proj'; {_vit.SUPPORTED}")
        found.append(("patch_embed.proj", proj))
    for suffix in _BLOCK_LINEARS:
        found.extend(_vit.block_linears(model, suffix, "gps"))
    return found


@register("gps", config=GPSConfig, mergeable=True, identity_at_init=True, paper="2312.10136")
class GPS(Method):
    cfg: GPSConfig

    def check_model(self, model: nn.Module) -> None:
        _vit.require_vit(model, self.spec.id)
        for _, layer in _targets(model, self.cfg):
            if self.cfg.k > layer.weight[0].numel():
                raise ValueError(f"gps: k={self.cfg.k} is larger than a row of {type(layer).__name__}")

    def apply(self, model: nn.Module) -> None:
        for name, layer in _targets(model, self.cfg):
            _vit.replace_module(model, name, GPSWeight(layer, self.cfg.k))
            if self.cfg.train_biases and layer.bias is not None:
                layer.bias.requires_grad_(True)

    def merge(self, model: nn.Module) -> None:
        for name, mod in list(model.named_modules()):
            if isinstance(mod, GPSWeight):
                _vit.replace_module(model, name, mod.merge())

    def owns(self, name: str) -> bool:
        return super().owns(name) or (self.cfg.train_biases and name.endswith("base_layer.bias"))

    def extra_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        layers = [(n, m) for n, m in model.named_modules() if isinstance(m, GPSWeight)]
        return {f"{n}.{b}": getattr(m, b) for n, m in layers for b in ("gps_index", "gps_selected")}


# -- selection ------------------------------------------------------------------------------------------------


def supcon_loss(f1: torch.Tensor, f2: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07,
                base_temperature: float = 0.07) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020) of two views, every view an anchor, as the official
    `SupConLoss` computes it: normalised features, positives = same label (the other view included), self excluded."""
    z = F.normalize(torch.cat([f1, f2]).float(), dim=1)
    y = labels.repeat(2)
    logits = z @ z.T / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    not_self = ~torch.eye(len(z), dtype=torch.bool, device=z.device)
    positive = (y[:, None] == y[None, :]) & not_self
    log_prob = logits - torch.log((logits.exp() * not_self).sum(dim=1, keepdim=True))
    mean_pos = (positive * log_prob).sum(dim=1) / positive.sum(dim=1)
    return -(temperature / base_temperature) * mean_pos.mean()


def pooled_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pooled feature the head reads (final norm, then class token or patch mean): the official `return_feature`."""
    return model.forward_head(model.forward_features(x), pre_logits=True)


def _gps_layers(model: nn.Module) -> list[GPSWeight]:
    from . import api

    state = api.applied(model)
    if state is None or state.method_id != "gps":
        raise ValueError("gps.select: apply the 'gps' method to the model first (methods.apply(model, 'gps'))")
    layers = [m for m in model.modules() if isinstance(m, GPSWeight)]
    if any(bool(m.gps_delta.detach().any()) for m in layers):
        raise ValueError("gps.select: the selected weights have already been trained; select on the pretrained model")
    return layers


def _summed_loss_gradients(model: nn.Module, batches: Iterable[Sequence[torch.Tensor]], loss: str) -> None:
    """Backward of every batch's loss without zeroing in between: gradients summed, as the official pass."""
    for batch in batches:
        if loss == "supcon":
            v1, v2, y = batch
            feats = pooled_features(model, torch.cat([v1, v2]))
            value = supcon_loss(*feats.split(len(v1)), y)
        else:
            x, y = batch
            value = F.cross_entropy(model(x), y)
        value.backward()


def select(
    model: nn.Module, batches: Iterable[Sequence[torch.Tensor]], loss: Literal["supcon", "ce"] = "supcon"
) -> None:
    """Choose, per row of every GPS weight, the k entries with the largest summed |gradient| over `batches`.

    `loss="supcon"` (the official `--contrastive`): each batch is (view1, view2, labels), two augmentations of the
    same images; `loss="ce"`: each batch is (images, labels). The model runs in train mode (official) and is put
    back in its mode; every gradient the pass leaves is cleared.
    """
    layers = _gps_layers(model)
    k = layers[0].gps_delta.shape[1]
    weights = [m.base_layer.weight for m in layers]
    was_training = model.training
    model.train()
    for w in weights:
        w.grad = None
        w.requires_grad_(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnselectedWarning)  # the selection pass itself runs unselected
            _summed_loss_gradients(model, batches, loss)
        if any(w.grad is None for w in weights):
            raise ValueError("gps.select: no gradient reached the weights (empty `batches`?)")
        for m, w in zip(layers, weights, strict=True):
            scores = w.grad.reshape(w.shape[0], -1).abs()  # type: ignore[union-attr]
            m.gps_index.copy_(scores.topk(k, dim=1).indices)
            m.gps_selected.fill_(True)
    finally:
        for w in weights:
            w.requires_grad_(False)
        for p in model.parameters():
            p.grad = None
        model.train(was_training)
