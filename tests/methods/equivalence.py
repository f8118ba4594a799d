"""Checks that a reorganised computation equals the previous one: outputs and gradients, and saved-tensor bytes.

Used by the cost fixes of issue 13 (GLoRA, FacT, SSF, Mona, Convpass, VPT-Shallow): each test builds the method's
model twice from the same weights, once as shipped and once routed through the previous computation (kept in the
test as a reference), runs a train-mode forward and backward, and compares.
"""

from __future__ import annotations

import torch
from torch import nn


def output_and_grads(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One forward and backward of a fixed non-trivial loss; the output and every trainable parameter's gradient."""
    model.zero_grad(set_to_none=True)
    out = model(x)
    (out * torch.linspace(-1, 1, out.shape[-1])).square().sum().backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return out.detach(), grads


def assert_same_function(
    ours: nn.Module, reference: nn.Module, x: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """Same outputs and same gradients for every trainable parameter (names must match)."""
    out, grads = output_and_grads(ours, x)
    ref_out, ref_grads = output_and_grads(reference, x)
    torch.testing.assert_close(out, ref_out, atol=atol, rtol=rtol)
    assert grads.keys() == ref_grads.keys(), f"gradients reach different parameters: {grads.keys() ^ ref_grads.keys()}"
    assert grads, "no gradients were computed: the check would be vacuous"
    for name, g in grads.items():
        torch.testing.assert_close(g, ref_grads[name], atol=atol, rtol=rtol, msg=lambda m, n=name: f"grad {n}: {m}")


def saved_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes autograd keeps for backward in one train forward: distinct storages, the model's parameters excluded
    (full fine-tuning saves its weights too, and they are memory the model holds anyway)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    out.sum().backward()  # the graph is complete: every saved tensor was packed
    model.zero_grad(set_to_none=True)
    return sum(seen.values())
