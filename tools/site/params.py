"""Trainable parameters of each reference implementation on ViT-B/16, and the backbone families it supports.

Both come from the `methods` registry, which imports torch and timm (seconds). The site reads them from the
registry snapshot (`methods._snapshot`), kept on disk beside the cached counts and keyed by the methods' code and
the installed torch, timm and peft, so a rebuild (`vpeft site serve`, or a build after one) imports neither; a
stale or missing snapshot is recomputed, counting on the meta device (shapes without memory or weights, offline).
"""

from __future__ import annotations

from ..methods._snapshot import registry_snapshot

BACKBONE = "vit_base_patch16_224"
BACKBONE_LABEL = "ViT-B/16 (timm vit_base_patch16_224; the classification head is not counted)"


def trainable_counts(implementations: set[str]) -> dict[str, int]:
    """Implementation id -> trainable parameters (head excluded) with the method's default config."""
    if not implementations:
        return {}
    facts = registry_snapshot(BACKBONE).methods
    # methods needing an optional package (peft's tuners) are counted on demand (`vpeft params`), not at a build
    return {m: n for m in sorted(implementations) if m in facts and (n := facts[m].trainable) is not None}


def backbone_families(implementation: str) -> list[str]:
    """What each backbone family the implementation declares covers (`register(..., families=...)`), e.g.
    "swin: timm SwinTransformer (swin_*)"; empty for an id the registry does not have."""
    snapshot = registry_snapshot(BACKBONE)
    facts = snapshot.methods.get(implementation)
    return [f"{f}: {snapshot.descriptions[f]}" for f in facts.families] if facts else []


def usage_snippet(implementation: str) -> str:
    return (
        "import timm\nfrom vpeft import methods\n\n"
        f'model = timm.create_model("{BACKBONE}", pretrained=True,\n'
        "                          num_classes=100)\n"
        f'methods.apply(model, "{implementation}")  # freezes the backbone, adds what is trained\n'
        "print(methods.trainable_parameters(model))\n"
    )
