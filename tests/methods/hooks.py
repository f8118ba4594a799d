"""Record what a submodule received and returned during one forward (placement checks of the method tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def recording(modules: dict[str, nn.Module]) -> Iterator[dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """Yields {name: (first positional input, output)}, filled by the forwards run inside the block."""
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = [
        mod.register_forward_hook(lambda _m, args, out, name=name: seen.__setitem__(name, (args[0], out)))
        for name, mod in modules.items()
    ]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()
