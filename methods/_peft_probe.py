"""Which peft tuners work on the nn.Linear layers of a timm ViT: computed by trying each on tiny ViTs.

`probe()` tries every tuner type of the installed peft (and our variants such as DoRA) on two tiny timm ViTs
(embedding widths 48 and 32, as the shared test matrix uses) and keeps a tuner when, with its default options
(or, where a default size does not fit a tiny model, the sizes in `TINY`): it injects into the blocks' linears,
forward and backward run, exactly the parameters with peft's prefix train and all get gradients, and a bf16
autocast forward/backward runs. For a kept tuner it records whether it starts as the identity (exact equality)
and whether peft's `merge_and_unload` keeps the output after training and gives back the plain backbone.
A left-out tuner's reason is the error or the failed check, as computed.

The result is stored in `peft_tuners.json` with the peft/timm/torch versions probed and, for each bridged tuner,
its options (peft's config fields, types and defaults). `peft_bridge` registers from that file alone, so loading
the registry never imports peft nor probes. The file is refreshed by `REFRESH` (which also fills the docs'
tables); tests/methods/test_peft_bridge.py fails, naming that command, when the installed peft differs from the
stored one (and re-runs the whole probe under `-m slow`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import json
import pkgutil
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import _peft_tuners as pt

TABLE = Path(__file__).with_name("peft_tuners.json")
REFRESH = "python -m vpeft.methods._peft_probe --write"  # the command that recomputes TABLE and the docs

# Sizes for the tiny test ViTs (widths 32 and 48) where peft's default is meant for a real model and does not
# fit (e.g. C3A's default block size 256 > 48). Used only when the default fails; the defaults stay peft's.
TINY: dict[str, dict[str, Any]] = {
    "C3A": {"block_size": 16},
    "FOURIERFT": {"n_frequency": 64},
    "MISS": {"r": 4},
    "PSOFT": {"r": 4},
    "ROAD": {"group_size": 16},
    "SHIRA": {"r": 4},
    "VBLORA": {"vector_length": 16},
    "WAVEFT": {"n_frequency": 64},
}
WIDTHS = ((48, 3), (32, 2))  # (embed_dim, num_heads) of the probe ViTs
MERGE_ATOL = 1e-5  # as the test matrix


@dataclass
class Report:
    """What the probe found for one candidate id."""

    id: str
    peft_type: str
    bridged: bool
    reason: str = ""  # why it is left out (empty when bridged)
    fixed: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # `_peft_tuners.stored_options`: our typed config
    prefix: str = ""
    mergeable: bool = False
    merge_note: str = ""  # why not mergeable
    identity_at_init: bool = False
    tiny_options: dict[str, Any] = field(default_factory=dict)
    paper: str | None = None
    counts_on_meta: bool = False  # applies on a meta-device tiny ViT (else `counting` falls back to CPU)
    count_depends_on_weights: bool = False  # parameter shapes differ between two random backbones (AdaMSS)


def _tiny_vit(width: int, heads: int, seed: int = 0) -> nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(seed)
    model = VisionTransformer(img_size=16, patch_size=8, embed_dim=width, depth=1, num_heads=heads, num_classes=3)
    nn.init.normal_(model.head.weight, std=0.1)
    return model.eval()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:240]}"


_PAPER = re.compile(r"(?:arxiv\.org/(?:abs|pdf|html)|huggingface\.co/papers)/(\d{4}\.\d{4,5})")
# Where peft's docstring cites several papers and the first is not the one that introduced the tuner: LoKr's cites
# FedPara (2108.06098, the Hadamard-product parameterisation behind LoHa) before the LyCORIS paper that defines LoKr.
_INTRODUCED_BY = {"lokr": "2309.14859"}


def paper(cand: pt.Candidate) -> str | None:
    """The arXiv id peft cites: for a variant, in the help text of the setting it fixes (DoRA: `use_dora`);
    otherwise the first one in the docstring of peft's tuner class (its config docstrings cite other papers), unless
    `_INTRODUCED_BY` names another one that the docstring cites too."""
    if cand.fixed:
        helps = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(pt.config_class(cand.peft_type))}
        texts = [helps.get(name, "") for name in cand.fixed]
    else:
        texts = [pt.tuner_class(cand.peft_type).__doc__ or ""]
    found = [m.group(1) for t in texts for m in _PAPER.finditer(t)]
    if _INTRODUCED_BY.get(cand.id) in found:
        return _INTRODUCED_BY[cand.id]
    return found[0] if found else None


def _apply(cand: pt.Candidate, options: dict[str, Any], width: int, heads: int,
           seed: int = 0) -> tuple[nn.Module, Any]:
    model = _tiny_vit(width, heads, seed)
    model.requires_grad_(False)
    cfg_cls = pt.typed_config(cand.id, cand.peft_type, pt.stored_options(cand.peft_type, cand.fixed))
    tuner = pt.inject(model, cand.peft_type, pt.peft_config(cand.peft_type, cfg_cls(**options), cand.fixed))
    return model, tuner


def _train(model: nn.Module, x: torch.Tensor) -> None:
    """Three Adam steps, as the test matrix, so that adapters move off their initial values."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-2)
    model.train()
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), torch.arange(len(x)) % 3).backward()
        opt.step()
    model.eval()


def _checks(cand: pt.Candidate, options: dict[str, Any], width: int, heads: int) -> tuple[str, bool]:
    """('' or the failed check, identity at init) on one tiny ViT."""
    model, tuner = _apply(cand, options, width, heads)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        identity = torch.equal(model(x), _tiny_vit(width, heads)(x))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    if not trainable or any(tuner.prefix not in n for n in trainable):
        return f"trainable parameters are not exactly those named with peft's prefix {tuner.prefix!r}", identity
    model.train()
    model(x).square().mean().backward()
    missing = sorted(n for n, p in model.named_parameters() if p.requires_grad and p.grad is None)
    if missing:
        return f"no gradient reaches {missing[0]}", identity
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    out.float().sum().backward()
    if not torch.isfinite(out.float()).all():
        return "non-finite output under bf16 autocast", identity
    return "", identity


def _trainable_count(model: nn.Module) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head."))


def _count_checks(cand: pt.Candidate, options: dict[str, Any]) -> tuple[bool, bool]:
    """(applies on the meta device, the trainable count differs between backbones with other random weights)."""
    width, heads = WIDTHS[0]
    counts = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model, _ = _apply(cand, options, width, heads, seed=seed)
        counts.append(_trainable_count(model))
    try:
        with torch.device("meta"):
            _apply(cand, options, width, heads)
        meta = True
    except (NotImplementedError, RuntimeError):  # the tuner reads the weights' values (SVD, clustering, nonzero)
        meta = False
    return meta, counts[0] != counts[1]


def _merge_check(cand: pt.Candidate, options: dict[str, Any]) -> str:
    """'' when peft's merge keeps the output after training and leaves the plain backbone; else why not."""
    width, heads = WIDTHS[0]
    model, tuner = _apply(cand, options, width, heads)
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    _train(model, x)
    try:
        with torch.no_grad():
            before = model(x)
            pt.unload(model, tuner, merge=True)
            after = model(x)
    except Exception as exc:  # noqa: BLE001 - any failure of peft's merge means: not mergeable, say why
        return f"peft's merge_and_unload fails: {_one_line(exc)}"
    plain = _tiny_vit(width, heads)
    if list(model.state_dict()) != list(plain.state_dict()):
        return "after peft's merge_and_unload the model is not the plain backbone"
    diff = (after - before).abs().max().item()
    if not diff <= MERGE_ATOL:
        return f"peft's merge changes the output by {diff:.1e} (> {MERGE_ATOL:g})"
    return ""


def _try(cand: pt.Candidate, options: dict[str, Any]) -> tuple[str, bool]:
    """('' or why it fails, identity at init on every probe width)."""
    identity = True
    for width, heads in WIDTHS:
        try:
            failed, same = _checks(cand, options, width, heads)
        except Exception as exc:  # noqa: BLE001 - any failure is a computed reason to leave the tuner out
            return _one_line(exc), False
        if failed:
            return failed, False
        identity = identity and same
    return "", identity


def probe_one(cand: pt.Candidate, native: set[str]) -> Report:
    report = Report(id=cand.id, peft_type=cand.peft_type, bridged=False, fixed=cand.fixed)
    from peft.config import PromptLearningConfig

    cls = pt.config_class(cand.peft_type)
    if issubclass(cls, PromptLearningConfig):
        report.reason = "prompt learning: adds virtual tokens to a transformers model's input embeddings"
        return report
    if "target_modules" not in {f.name for f in dataclasses.fields(cls)}:
        report.reason = "its config has no target_modules: it wraps whole transformers models, not chosen layers"
        return report
    if cand.peft_type in pt.NATIVE and not cand.fixed:
        report.reason = f"implemented natively as `{pt.NATIVE[cand.peft_type]}`, which keeps the id"
        return report
    if cand.id in native:
        report.reason = f"id `{cand.id}` is taken by a native method"
        return report
    failed, identity = _try(cand, {})
    if failed and cand.peft_type in TINY:
        tiny_failed, identity = _try(cand, TINY[cand.peft_type])
        if not tiny_failed:
            report.tiny_options = TINY[cand.peft_type]
        failed = tiny_failed and f"{failed}; with {TINY[cand.peft_type]}: {tiny_failed}"
    if failed:
        report.reason = failed
        return report
    report.bridged, report.identity_at_init, report.paper = True, identity, paper(cand)
    report.options = pt.stored_options(cand.peft_type, cand.fixed)
    report.prefix = pt.tuner_class(cand.peft_type).prefix
    report.merge_note = _merge_check(cand, report.tiny_options)
    report.mergeable = not report.merge_note
    report.counts_on_meta, report.count_depends_on_weights = _count_checks(cand, report.tiny_options)
    return report


def probe(native: set[str]) -> list[Report]:
    """Every candidate (peft's types and our variants), tried; `native` are the ids of our own methods."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [probe_one(c, native) for c in pt.candidates()]


def installed_versions() -> dict[str, str]:
    """Versions of the installed distributions (read from their metadata: nothing is imported)."""
    version = importlib.metadata.version
    return {"peft": version("peft"), "timm": version("timm"), "torch": version("torch").split("+")[0]}


def table(reports: list[Report]) -> dict[str, Any]:
    return {"versions": installed_versions(), "tuners": [asdict(r) for r in reports]}


def read_table(path: Path = TABLE) -> dict[str, Any]:
    """The stored probe result, whichever versions it was computed with (a test compares them with the installed
    ones): reading it imports nothing."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def reports_of(data: dict[str, Any]) -> list[Report]:
    return [Report(**row) for row in data["tuners"]]


def native_ids() -> set[str]:
    """Ids registered by our own method modules: every method module but the bridge, imported here (not through
    `registry._load_all`, which imports the bridge, which may call this while the registry loads)."""
    from .. import methods
    from . import registry

    for info in pkgutil.iter_modules(methods.__path__):
        skip = info.name.startswith("_") or info.ispkg or info.name in {*registry._CORE_MODULES, "peft_bridge"}
        if not skip:
            importlib.import_module(f"{methods.__name__}.{info.name}")
    return {i for i, s in registry._REGISTRY.items() if not s.module.endswith(".peft_bridge")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="probe peft's tuners on tiny timm ViTs")
    parser.add_argument("--write", action="store_true", help=f"write the result to {TABLE.name}")
    args = parser.parse_args(argv)
    data = table(probe(native_ids()))
    text = json.dumps(data, indent=1) + "\n"
    if args.write:
        from . import _peft_docs

        TABLE.write_text(text, encoding="utf-8")
        _peft_docs.write(data)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
