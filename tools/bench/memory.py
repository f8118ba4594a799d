"""Memory of a training step without CUDA: a documented proxy.

On CPU there is no allocator peak to read, so the benchmark reports

    proxy = parameter bytes + optimizer state bytes + saved-activation bytes

- parameter bytes: every parameter of the model, frozen or not (they are resident either way);
- optimizer state bytes: every tensor the optimizer keeps (Adam's two moments and its step counters);
- saved-activation bytes: the storages autograd keeps for backward during one forward pass, seen through
  `torch.autograd.graph.saved_tensors_hooks`. Each storage is counted once (a tensor saved by two ops, or two
  views of one tensor, cost one storage), and parameters are left out (they are counted above).

Gradients are not counted: their size equals the trainable parameters, which the table reports separately. The
proxy leaves out temporaries freed during the step, so it is a lower bound of the real peak; it ranks methods by
what they keep alive, which is what differs between them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

PROXY = ("cpu-proxy: parameter bytes + optimizer state bytes + saved-activation bytes (autograd saved tensors "
         "during one forward, each storage once, parameters excluded); gradients and freed temporaries not counted")
CUDA_PEAK = "cuda-peak: torch.cuda.max_memory_allocated during one train step, after optimizer state exists"


def _storage(t: torch.Tensor) -> tuple[int, int]:
    s = t.untyped_storage()
    return s.data_ptr(), s.nbytes()


def parameter_bytes(model: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in {id(p): p for p in model.parameters()}.values())


def optimizer_bytes(optimizer: torch.optim.Optimizer) -> int:
    return sum(v.numel() * v.element_size() for state in optimizer.state.values() for v in state.values()
               if isinstance(v, torch.Tensor))


def saved_activation_bytes(model: nn.Module, forward: Callable[[], torch.Tensor]) -> int:
    """Bytes of the distinct storages autograd saves while `forward()` runs, parameters excluded."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr, nbytes = _storage(t)
        if ptr not in params and ptr != 0:  # 0: an empty storage (a zero-size tensor)
            seen[ptr] = max(seen.get(ptr, 0), nbytes)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = forward()
    del out  # the graph (and the saved storages) go with it; `seen` keeps only their addresses and sizes
    return sum(seen.values())
