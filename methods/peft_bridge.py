"""Hugging Face `peft` tuners in our registry: `methods.apply(model, "vera")`, `methods.apply(model, "dora", r=8)`.

Which tuners are registered is computed from the installed peft (`_peft_probe`: every tuner type of peft's
registry is tried on tiny timm ViTs; those that work on the blocks' nn.Linear layers are kept). The probe's
result is stored in `peft_tuners.json` and registration reads only that file: loading the registry imports no
peft and probes nothing (peft is imported when a tuner is applied). A test fails, naming the command that
refreshes the file, when the installed peft is not the one probed. `vpeft methods` lists them;
methods/README.md and the site's "peft tuners" page say which were left out and why.

Each id gets a typed config: `target` (which block linears: qkv, proj, fc1, fc2; default qkv) plus every scalar
field of peft's config dataclass with peft's type and default, as stored by the probe
(`_peft_tuners.typed_config`). Defaults are therefore peft's, not a paper's VTAB-1k setting. Parameter counts
load peft, and some are slow (AdaMSS clusters the weights of ViT-B/16 for about a minute), so they are computed
on demand (`vpeft params ID`) and not by `vpeft methods` or the site (`Method.requires`).
`apply` builds peft's config and lets peft's own tuner class
wrap the layers (`BaseTuner(model, config)`); `merge` is peft's `merge_and_unload`, registered only where the
probe saw it keep the output. Parameters are peft's (names carry the adapter name `default`, e.g.
`blocks.0.attn.qkv.vera_lambda_b.default`); non-trainable tensors peft adds (VeRA's shared projections, FourierFT's
frequency indices, ...) are saved too. `peft_interop.to_peft` writes a saved file as a peft adapter folder.
Backbones: every bridged tuner is declared on ViTs, Swin and ConvNeXt (whose blocks have only mlp.fc1 / mlp.fc2:
`target="fc1"`), except the pairs `NOT_ON` lists with what fails in peft.
Not bridged on purpose: peft's LoRA, GLoRA and LN tuning (ours are native under those ids; peft's LoRA adds DoRA,
which is bridged as `dora`, while our LoRA converts to peft's with `peft_interop`).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import torch
from torch import nn

from . import _peft_probe, _vit
from . import _peft_tuners as pt
from .base import Method, UnsupportedModelError
from .registry import register


class PeftTuner(Method):
    """One peft tuner type; subclasses (made by `_register`) fix `peft_type` and the settings of variants."""

    cfg: pt.PeftTunerConfig
    peft_type: ClassVar[str]
    fixed: ClassVar[dict[str, Any]] = {}
    tiny: ClassVar[dict[str, Any]] = {}
    merge_note: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ("peft",)

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        self._tuner: Any = None
        self._backbone_keys: set[str] = set()

    @classmethod
    def tiny_model_options(cls) -> dict[str, Any]:
        """Options for the test matrix's tiny ViTs where peft's default size does not fit them."""
        return dict(cls.tiny)

    def check_model(self, model: nn.Module) -> None:
        _vit.require_transformer(model, self.spec.id)
        pattern = pt.target_regex(self.cfg.target)

        if not any(re.fullmatch(pattern, n) and isinstance(m, nn.Linear) for n, m in model.named_modules()):
            present = [t for t in pt.LINEARS if any(
                re.fullmatch(pt.target_regex(t), n) and isinstance(m, nn.Linear) for n, m in model.named_modules())]
            example = present[0] if present else "fc1"
            raise UnsupportedModelError(
                f"method {self.spec.id!r}: no block linears {self.cfg.target!r} in this model; its blocks have "
                f"{', '.join(present) or 'none'} (set the option target, e.g. target={example})"
            )

    def apply(self, model: nn.Module) -> None:
        self._backbone_keys = set(model.state_dict())
        self._tuner = pt.inject(model, self.peft_type, pt.peft_config(self.peft_type, self.cfg, self.fixed))

    def merge(self, model: nn.Module) -> None:
        pt.unload(model, self._tuner, merge=True)
        self._tuner = None

    def identity_at_init(self) -> bool:
        """The probe's finding holds for the default options it tried (and the matrix's tiny sizes)."""
        tried = {self.spec.config(), self.spec.config(**self.tiny)}
        return self.spec.identity_at_init and self.cfg in tried

    def extra_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Tensors peft added that do not train (random projections, indices): saved so a load is exact.
        A backbone tensor moves under `base_layer` when peft wraps its layer; those are not ours."""
        trained = {n for n, p in model.named_parameters() if p.requires_grad}
        return {
            k: v for k, v in model.state_dict().items()
            if k not in trained and k.replace(".base_layer.", ".") not in self._backbone_keys
        }


# Families: peft wraps nn.Linear layers by name. Swin's window-attention blocks have the same block linears
# (attn.qkv, attn.proj, mlp.fc1, mlp.fc2) as a ViT's, and a ConvNeXt block's MLP has fc1 and fc2 (no attention:
# give `target="fc1"`, `"fc2"` or `"fc1,fc2"`), applied to the channels-last (B, H, W, C) map. Every bridged
# tuner is declared on them (the test matrix applies each to a tiny Swin and ConvNeXt: trainable set, identity at
# init, gradients) except these, with what fails in peft 0.21:
NOT_ON = {
    "swin": {
        # frod/model.py `_projection_from_weights` concatenates all target weights into one projection; Swin's
        # widths grow per stage, so the shapes do not match (RuntimeError at injection)
        "frod": "one projection from all target weights stacked needs every target layer of the same width",
    },
    "convnext": {
        "frod": "one projection from all target weights stacked needs every target layer of the same width",
        # gralora/layer.py L358 `B, L, in_features = x.shape`: token sequences (3-D) only
        "gralora": "its layer unpacks a 3-D (B, L, C) input; a ConvNeXt MLP sees the 4-D (B, H, W, C) map",
        # oft/layer.py L265 unfolds every 4-D input as a Conv2d's (B, C, H, W) before the rotation
        "oft": "its layer treats a 4-D input as a conv input and unfolds it; a ConvNeXt MLP's input is channels last",
    },
}


def _families(method_id: str) -> tuple[str, ...]:
    return ("vit", *(f for f in ("swin", "convnext") if method_id not in NOT_ON[f]))


def _register(report: _peft_probe.Report) -> None:
    name = "Peft" + "".join(p.capitalize() for p in report.id.split("-"))
    doc = (f"peft's {report.peft_type} tuner" + (f" with {report.fixed}" if report.fixed else "")
           + (f" (arXiv:{report.paper})" if report.paper else "") + "; see the module docstring.")
    attrs = {"peft_type": report.peft_type, "fixed": report.fixed, "tiny": report.tiny_options,
             "merge_note": report.merge_note, "__doc__": doc, "__module__": __name__, "__qualname__": name}
    cls = type(name, (PeftTuner,), attrs)
    config = pt.typed_config(report.id, report.peft_type, report.options)
    register(report.id, config=config, mergeable=report.mergeable, identity_at_init=report.identity_at_init,
             paper=report.paper, prefix=report.prefix, families=_families(report.id))(cls)


BRIDGED = [r for r in _peft_probe.reports_of(_peft_probe.read_table()) if r.bridged]
for _report in BRIDGED:
    _register(_report)
