"""The method registry: `register` decorates a `Method` subclass, as timm's `register_model` does for models.

Method modules (every public module of the `methods` package that is not part of the core) are imported on the
first lookup, so a new method is registered by adding its module; nothing else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from ._families import DEFAULT as DEFAULT_FAMILIES
from ._families import check_declared
from .base import Method, MethodConfig

_CORE_MODULES = frozenset({"api", "base", "registry"})


@dataclass(frozen=True)
class MethodSpec:
    """What the registry knows about a method id."""

    id: str
    cls: type[Method]
    config: type[MethodConfig]
    mergeable: bool
    identity_at_init: bool
    paper: str | None  # arXiv id or short citation of the paper that defines the method
    prefix: str  # every parameter the method adds has a name component starting with this
    module: str
    families: tuple[str, ...] = DEFAULT_FAMILIES  # backbone families `apply` accepts (methods/_families.py)

    def make(self, cfg: MethodConfig) -> Method:
        return self.cls(cfg)


_REGISTRY: dict[str, MethodSpec] = {}
_loaded = False


def register(
    method_id: str,
    *,
    config: type[MethodConfig],
    mergeable: bool = False,
    identity_at_init: bool = False,
    paper: str | None = None,
    prefix: str | None = None,
    families: tuple[str, ...] = DEFAULT_FAMILIES,
) -> Callable[[type[Method]], type[Method]]:
    """Class decorator registering a `Method` subclass under `method_id` (the catalog id).

    `prefix` defaults to the id with '-' replaced by '_' (e.g. "adapter-houlsby" -> "adapter_houlsby").
    `families` are the backbone families the method supports (`methods._families.FAMILIES`; default plain ViTs):
    `apply` refuses a model of any other family before the method sees it.
    """
    declared = check_declared(families)

    def decorate(cls: type[Method]) -> type[Method]:
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise TypeError(f"@register({method_id!r}) must decorate a methods.base.Method subclass")
        if not (isinstance(config, type) and issubclass(config, MethodConfig)):
            raise TypeError(f"@register({method_id!r}): config must be a methods.base.MethodConfig subclass")
        if method_id in _REGISTRY and _REGISTRY[method_id].cls.__qualname__ != cls.__qualname__:
            raise ValueError(f"method id {method_id!r} is already registered by {_REGISTRY[method_id].module}")
        spec = MethodSpec(
            id=method_id,
            cls=cls,
            config=config,
            mergeable=mergeable,
            identity_at_init=identity_at_init,
            paper=paper,
            prefix=prefix if prefix is not None else method_id.replace("-", "_"),
            module=cls.__module__,
            families=declared,
        )
        cls.spec = spec
        _REGISTRY[method_id] = spec
        return cls

    return decorate


def _load_all() -> None:
    """Import every method module of the package once, so that their `@register` decorators run."""
    global _loaded
    if _loaded:
        return
    from .. import methods

    for info in pkgutil.iter_modules(methods.__path__):
        if info.name.startswith("_") or info.name in _CORE_MODULES or info.ispkg:
            continue
        importlib.import_module(f"{methods.__name__}.{info.name}")
    _loaded = True


def available() -> list[str]:
    """The registered method ids, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def get(method_id: str) -> MethodSpec:
    """The spec registered under `method_id`; a `ValueError` naming the available ids otherwise."""
    _load_all()
    try:
        return _REGISTRY[method_id]
    except KeyError:
        raise ValueError(f"unknown method {method_id!r}; available: {', '.join(sorted(_REGISTRY))}") from None
