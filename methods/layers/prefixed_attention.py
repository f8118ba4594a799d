"""timm `Attention` with extra key/value positions in front of the sequence (prefix tuning, E2VPT's KV prompts).

    softmax(q [P_k | k]^T / sqrt(d)) [P_v | v]      per head, P_k / P_v of shape (heads, length, head_dim)

The prefixes join after timm's `q_norm` / `k_norm` (they are keys already, not inputs to the projection); the rest
(attention dropout, `norm`, gate, `proj`, `proj_drop`) is timm's. A given `attn_mask` gets the prefix columns
unmasked; `is_causal` is refused (a causal mask over prefix + sequence is not defined by these methods).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Attention


def _extend_mask(mask: torch.Tensor, length: int) -> torch.Tensor:
    """Let every query see the prefix columns: pad the key axis of a bool or additive mask in front."""
    pad = torch.ones if mask.dtype == torch.bool else torch.zeros
    return torch.cat([pad(*mask.shape[:-1], length, dtype=mask.dtype, device=mask.device), mask], dim=-1)


def _batched(prefix: torch.Tensor, batch: int) -> torch.Tensor:
    return prefix if prefix.dim() == 4 else prefix.unsqueeze(0).expand(batch, -1, -1, -1)


def prefixed_attention(
    attn: Attention,
    x: torch.Tensor,
    prefix_k: torch.Tensor,
    prefix_v: torch.Tensor,
    attn_mask: torch.Tensor | None,
    is_causal: bool,
    method_id: str,
) -> torch.Tensor:
    """`attn(x)` with `prefix_k` / `prefix_v` (heads, length, head_dim), or per example (B, heads, length,
    head_dim), in front of the keys and values."""
    if is_causal:
        raise ValueError(f"{method_id}: is_causal is not supported")
    b, n, _ = x.shape
    gate = attn.gate(x).sigmoid() if getattr(attn, "gate", None) is not None else None
    q, k, v = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
    q, k = attn.q_norm(q), attn.k_norm(k)
    k = torch.cat([_batched(prefix_k, b).to(k.dtype), k], dim=2)
    v = torch.cat([_batched(prefix_v, b).to(v.dtype), v], dim=2)
    mask = _extend_mask(attn_mask, prefix_k.shape[-2]) if attn_mask is not None else None
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=attn.attn_drop.p if attn.training else 0.0)
    out = attn.norm(out.transpose(1, 2).reshape(b, n, -1))
    if gate is not None:
        out = out * gate
    return attn.proj_drop(attn.proj(out))


def require_timm_attention(model: torch.nn.Module, method_id: str, supported: str) -> None:
    """Raise `UnsupportedModelError` unless every block's `attn` is timm's `Attention`."""
    from ..base import UnsupportedModelError

    for i, block in enumerate(model.blocks):  # type: ignore[union-attr]
        if not isinstance(getattr(block, "attn", None), Attention):
            raise UnsupportedModelError(
                f"method {method_id!r} needs timm's Attention at blocks.{i}.attn; supported: {supported}"
            )
