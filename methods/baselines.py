"""The two baselines of every PEFT table: full fine-tuning and linear probing.

- full: every backbone weight and the head are trained (85.8M on ViT-B/16 excluding the head, V-PETL Bench).
- linear: only the classifier head is trained (0M excluding the head). Both leave the architecture unchanged,
  so they start as the backbone and `merge` has nothing to fold.
"""

from __future__ import annotations

from torch import nn

from .base import Method, MethodConfig
from .registry import register


class FullConfig(MethodConfig):
    """No options."""


class LinearConfig(MethodConfig):
    """No options."""


@register("full", config=FullConfig, mergeable=True, identity_at_init=True, paper=None)
class FullFineTuning(Method):
    def apply(self, model: nn.Module) -> None:
        model.requires_grad_(True)

    def merge(self, model: nn.Module) -> None:
        """Nothing to fold: the trained weights are the backbone's."""

    def owns(self, name: str) -> bool:
        return True


@register("linear", config=LinearConfig, mergeable=True, identity_at_init=True, paper=None)
class LinearProbing(Method):
    def apply(self, model: nn.Module) -> None:
        """Nothing to add: `api.apply` unfreezes the head."""

    def merge(self, model: nn.Module) -> None:
        """Nothing to fold."""

    def owns(self, name: str) -> bool:
        return False
