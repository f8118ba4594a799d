"""The base classes every method builds on: `MethodConfig` (typed options) and `Method` (apply / merge).

A method module subclasses both and registers the pair with `methods.registry.register`; see methods/README.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict
from torch import nn

if TYPE_CHECKING:
    from .registry import MethodSpec


class UnsupportedModelError(TypeError):
    """The backbone is not one this method can be applied to; the message names what is supported."""


class NotMergeableError(ValueError):
    """`merge` was asked of a method that changes the computation in a way no weight folding can express."""


class MethodConfig(BaseModel):
    """Options of one method. Subclasses add fields whose defaults are the paper's VTAB-1k settings.

    Frozen (hashable, safe to record on a model) and strict about unknown keys; `api.apply` checks unknown
    keys itself first so that the error names the allowed options.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def options(cls) -> list[str]:
        """The option names this config accepts, in declaration order."""
        return list(cls.model_fields)

    def to_json(self) -> str:
        return self.model_dump_json()


class Method:
    """One applied method. Subclasses implement `apply` (and `merge` when registered as mergeable).

    `api.apply` creates the instance with its config, calls `check_model`, freezes every existing parameter,
    then calls `apply`; parameters created by `apply` stay trainable (new `nn.Parameter`s require grad), and the
    classifier head is unfrozen afterwards. Methods that train existing weights (BitFit, LN-tune, full) set
    `requires_grad` on those themselves.
    """

    spec: ClassVar[MethodSpec]  # set by `register`
    # Optional distributions the method's layers come from (peft for the bridged tuners): their versions key the
    # count cache, and listings (`vpeft methods`, the site) do not import them: such counts are on demand.
    requires: ClassVar[tuple[str, ...]] = ()
    # Families (of those registered) on which `merge` refuses although the method is mergeable elsewhere (SSF on
    # ConvNeXt: one scale-shift follows no layer). The test matrix checks the refusal there.
    unmergeable_families: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: MethodConfig) -> None:
        self.cfg = cfg

    # -- hooks a subclass may override -------------------------------------------------------------------------
    def check_model(self, model: nn.Module) -> None:
        """Raise `UnsupportedModelError` if `model` is not supported. Default: a model of a declared family
        (`register(..., families=...)`); a ViT or Swin must have blocks."""
        from . import _vit
        from ._families import require_family

        require_family(model, self.spec.id, self.spec.families)  # callers such as `bench cost` call this directly
        _vit.require_transformer(model, self.spec.id)

    def apply(self, model: nn.Module) -> None:
        """Change `model` in place: insert or wrap modules, register the method's parameters."""
        raise NotImplementedError

    def merge(self, model: nn.Module) -> None:
        """Fold the method into the backbone so that `model` has exactly the plain backbone's modules."""
        raise NotMergeableError(f"method {self.spec.id!r} cannot be merged into the backbone weights")

    def owns(self, name: str) -> bool:
        """Whether parameter `name` (as in `model.named_parameters()`) is one of this method's parameters.

        Default: one dotted component of the name starts with the method's parameter prefix (``spec.prefix``).
        Used by the test matrix to check that exactly the intended parameters are trainable.
        """
        return any(part.startswith(self.spec.prefix) for part in name.split("."))

    def identity_at_init(self) -> bool:
        """Whether the freshly applied model computes exactly the frozen backbone's function (test matrix).

        Default: the `identity_at_init` flag given to `register`; override when it depends on the config.
        """
        return self.spec.identity_at_init

    @classmethod
    def tiny_model_options(cls) -> dict[str, Any]:
        """Options the test matrix gives on its tiny ViTs (widths 32 and 48). Default none; a method whose default
        sizes are meant for real models and cannot fit a tiny one (peft's C3A block size 256) returns them."""
        return {}

    def extra_state(self, model: nn.Module) -> dict[str, Any]:
        """Non-trainable tensors (buffers) that `save_trained` must also store, by state_dict key. Default none."""
        return {}
