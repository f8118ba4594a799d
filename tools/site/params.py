"""Trainable parameters of each reference implementation on ViT-B/16, counted by the `methods` registry.

`methods.counting` builds the backbone on the meta device (shapes without memory or weights) and applies the
method with `methods.apply`, so counting is fast and offline. torch is imported only when an entry names an
implementation; the counts are cached on disk by method, config, code and versions (`methods._count_cache`), so
a rebuild (`vpeft site serve`) counts nothing that did not change.
"""

from __future__ import annotations

BACKBONE = "vit_base_patch16_224"
BACKBONE_LABEL = "ViT-B/16 (timm vit_base_patch16_224; the classification head is not counted)"


def trainable_counts(implementations: set[str]) -> dict[str, int]:
    """Implementation id -> trainable parameters (head excluded) with the method's default config."""
    if not implementations:
        return {}
    from .. import methods
    from ..methods._count_cache import trainable_excluding_head

    # methods needing an optional package (peft's tuners) are counted on demand (`vpeft params`), not at a build
    counted = {m for m in implementations & set(methods.available()) if not methods.get(m).cls.requires}
    return trainable_excluding_head(sorted(counted), BACKBONE)


def backbone_families(implementation: str) -> list[str]:
    """What each backbone family the implementation declares covers (`register(..., families=...)`), e.g.
    "swin: timm SwinTransformer (swin_*)"; empty for an id the registry does not have."""
    from .. import methods
    from ..methods._families import DESCRIPTIONS

    if implementation not in methods.available():
        return []
    return [f"{f}: {DESCRIPTIONS[f]}" for f in methods.get(implementation).families]


def usage_snippet(implementation: str) -> str:
    return (
        "import timm\nfrom vpeft import methods\n\n"
        f'model = timm.create_model("{BACKBONE}", pretrained=True,\n'
        "                          num_classes=100)\n"
        f'methods.apply(model, "{implementation}")  # freezes the backbone, adds what is trained\n'
        "print(methods.trainable_parameters(model))\n"
    )
