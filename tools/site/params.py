"""Trainable parameters of each reference implementation on ViT-B/16, counted by the `methods` registry.

The backbone is built on the meta device: shapes without memory or weights, so counting is fast and offline.
torch is imported only when some entry names an implementation.
"""

from __future__ import annotations

BACKBONE = "vit_base_patch16_224"
BACKBONE_LABEL = "ViT-B/16 (timm vit_base_patch16_224; the classification head is not counted)"


def trainable_counts(implementations: set[str]) -> dict[str, int]:
    """Implementation id -> trainable parameters (head excluded) with the method's default config."""
    if not implementations:
        return {}
    import timm
    import torch

    import methods

    known = set(methods.available())
    counts: dict[str, int] = {}
    for impl in sorted(implementations & known):
        with torch.device("meta"):
            model = timm.create_model(BACKBONE, pretrained=False)
            methods.apply(model, impl)
        counts[impl] = methods.trainable_parameters(model)
    return counts


def usage_snippet(implementation: str) -> str:
    return (
        "import timm, methods\n\n"
        f'model = timm.create_model("{BACKBONE}", pretrained=True, num_classes=100)\n'
        f'methods.apply(model, "{implementation}")  # freezes the backbone, adds what is trained\n'
        "print(methods.trainable_parameters(model))\n"
    )
