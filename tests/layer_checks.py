"""Helpers shared by the layer tests."""

from __future__ import annotations

import torch


def close(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    assert torch.allclose(a, b, atol=1e-5), f"{what}: largest difference {(a - b).abs().max().item():.3g}"
