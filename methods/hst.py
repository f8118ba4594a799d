"""HST: Hierarchical Side-Tuning (Lin et al., arXiv:2310.05393), a hierarchical side network beside a frozen ViT.

Sources (github.com/AFeng-x/HST, commit ee89571; `models/vit_hsn.py` = V, `models/vit_custom_modules.py` = M):
- Meta tokens (V L259-L263, L339-L348): before every ViT block one learned token ("metaG", `metaG_num` = 1) is put
  in front of the sequence (before the class token); after the block its output is kept and removed from the
  sequence, and the block's patch tokens (without meta and class tokens) are kept as a (C, h, w) map. The frozen
  ViT therefore sees the meta tokens in its attention. Init xavier-uniform of a (1, 1, C) tensor.
- Side network (V L213-L257, L350-L396): `num_stages` = 4 stages of widths (32, 48, 64, 72) with (2, 4, 8, 12)
  heads; stage i reads ViT blocks block_indices[i-1]+1 ... block_indices[i] ((2, 5, 8, 11): three each), one side
  block per ViT block. Stage 1 embeds the image with a conv stem (M `Head` L247-L280: conv 3x3 stride 2 without
  bias, BatchNorm, ReLU, conv 2x2 stride 2, LayerNorm: 1/4 resolution); later stages with a 3x3 stride-2 conv and
  a LayerNorm (M `OverlapPatchEmbed` L208-L244). Per ViT block b of stage i: its patch map is bilinearly resized
  to the stage's grid and projected by the stage's `T_Bridge_i` (Linear C -> width); its meta token goes through
  the same bridge and a per-block LayerNorm (`m_proj_norm{b+1}`, V L242-L257, L350-L360).
- Side block (M `M_Block` L165-L205): x = x + attn(norm1(x), kv), with cross-attention of the side tokens (queries)
  on two key/value tokens, [meta token, mean of the bridged patch features] (V L384-L386; M L131-L162, q, k, v,
  proj with biases); then x = x + bridged features; then x = x + mlp(norm2(x)) (fc1, GELU, fc2, ratio 4). After
  each stage a LayerNorm (eps 1e-6); the output is the mean over the last stage's tokens (V L393), then a
  BatchNorm1d without affine parameters (eps 1e-6) and a Linear head of the last width (V L267-L268, L398-L403).
  We replace the model's Linear head by that head and route `forward_features` / `forward_head` through the side
  network; the ViT's final norm and its blocks after the last block index are not used (as in the official model).
- Trained (V `freeze_vit`, L316-L329, called after the optimiser is built, train.py L488): every parameter whose
  name holds "m_" (side network, meta tokens), the bridges, the head, and every ViT block LayerNorm ("block" and
  "norm" in the name): `train_block_norms` (blocks after the last block index are not used, so not trained here).
- Init actually used: side Linears trunc-normal std 0.02 and zero bias, LayerNorms (1, 0), convs N(0, 2 / fan_out)
  with fan_out = k * k * out (M L185-L198, L223-L236, L257-L270), then `init_weights` (V L273-L279) re-draws every
  Linear, bridges and head included, from trunc-normal 0.02 with zero bias (L406-L411): the same distribution.
  BatchNorms keep PyTorch's defaults.
- Side drop-path: linspace(0, drop_path_rate, side blocks) with the ViT's `--drop-path` (V L222); the VTAB-1k
  scripts pass 0 (`train_scripts/vit/vtab/*/train_s4.sh`); `drop_path` here.
- Generalised for other depths: the stage depths are the numbers of ViT blocks per stage (the official forward
  indexes one side block per ViT block, so `m_depths` must equal them). Meta tokens exist only for blocks up to
  the last block index (the official model creates one per block; the later ones get no gradient).
- Not the identity (the meta tokens change the ViT's features, and the head reads the side network), not mergeable.

Count on ViT-B/16 (default config, head excluded): computed in tests/methods/test_hst.py.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from timm.layers import DropPath, Mlp, trunc_normal_
from torch import nn

from . import _features, _vit
from .base import Method, MethodConfig
from .registry import register


class HSTConfig(MethodConfig):
    embed_dims: tuple[int, ...] = (32, 48, 64, 72)  # vit_hsn.py L156 m_embed_dims
    num_heads: tuple[int, ...] = (2, 4, 8, 12)  # L156 m_c_num_heads
    block_indices: tuple[int, ...] = (2, 5, 8, 11)  # L157: the last ViT block of each stage
    meta_tokens: int = Field(1, ge=1)  # L157 metaG_num
    mlp_ratio: float = Field(4.0, gt=0)  # the ViT's mlp_ratio (L155), passed to the side blocks (L232)
    drop_path: float = Field(0.0, ge=0, lt=1)  # the VTAB-1k scripts' --drop-path 0 (side stochastic depth, L222)
    train_block_norms: bool = True  # freeze_vit (L320-L321): the ViT blocks' LayerNorms train

    @model_validator(mode="after")
    def _stages(self) -> HSTConfig:
        n = len(self.embed_dims)
        if not n or len(self.num_heads) != n or len(self.block_indices) != n:
            raise ValueError("hst: embed_dims, num_heads and block_indices need one entry per stage (same length)")
        if any(b <= a for a, b in zip((-1, *self.block_indices), self.block_indices, strict=False)):
            raise ValueError(f"hst: block_indices must be increasing indices >= 0; got {self.block_indices}")
        if any(d % h or d < 1 for d, h in zip(self.embed_dims, self.num_heads, strict=True)):
            raise ValueError(f"hst: every width must be a multiple of its head count; got {self.embed_dims}, "
                             f"{self.num_heads}")
        return self


def _init_side(module: nn.Module) -> None:
    """The official side modules' init (vit_custom_modules.py `_init_weights`)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class CrossAttention(nn.Module):
    """Side tokens (queries) attend to a few key/value tokens (`M_C_Attention`)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.q, self.k, self.v, self.proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, t.shape[1], self.heads, c // self.heads).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(kv)), split(self.v(kv))
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class SideBlock(nn.Module):
    """`M_Block`: cross-attention on [meta, global ViT feature], add the ViT features, MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, drop_path: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = CrossAttention(dim, heads)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, kv: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), kv))
        x = x + feats
        return x + self.drop_path(self.mlp(self.norm2(x)))


class StageEmbed(nn.Module):
    """Stage 1: conv stem to 1/4 resolution (`Head`); later stages: 3x3 stride-2 conv (`OverlapPatchEmbed`)."""

    def __init__(self, in_chans: int, dim: int, first: bool) -> None:
        super().__init__()
        if first:
            self.conv: nn.Module = nn.Sequential(
                nn.Conv2d(in_chans, dim, 3, 2, padding=1, bias=False), nn.BatchNorm2d(dim), nn.ReLU(inplace=True),
                nn.Conv2d(dim, dim, kernel_size=2, stride=2),
            )
        else:
            self.conv = nn.Conv2d(in_chans, dim, 3, 2, padding=1)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.conv(x)
        h, w = x.shape[-2:]
        return self.norm(x.flatten(2).transpose(1, 2)), h, w


class HSTSide(nn.Module):
    """Meta tokens, bridges, per-block meta norms, the stages and the pre-head BatchNorm."""

    def __init__(self, dim: int, in_chans: int, cfg: HSTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        used = cfg.block_indices[-1] + 1
        self.meta = nn.Parameter(torch.empty(used, cfg.meta_tokens, dim))
        bound = math.sqrt(6.0 / ((cfg.meta_tokens + 1) * dim))  # xavier-uniform of each (1, metaG_num, C) token
        nn.init.uniform_(self.meta, -bound, bound)
        self.stage_of = [next(s for s, last in enumerate(cfg.block_indices) if b <= last) for b in range(used)]
        dims = cfg.embed_dims
        self.bridges = nn.ModuleList(nn.Linear(dim, d) for d in dims)
        self.meta_norms = nn.ModuleList(nn.LayerNorm(dims[s]) for s in self.stage_of)
        self.embeds = nn.ModuleList(
            StageEmbed(in_chans if s == 0 else dims[s - 1], d, s == 0) for s, d in enumerate(dims)
        )
        depths = [b - a for a, b in zip((-1, *cfg.block_indices), cfg.block_indices, strict=False)]
        rates = torch.linspace(0, cfg.drop_path, sum(depths)).tolist()
        starts = [sum(depths[:s]) for s in range(len(dims))]
        self.stages = nn.ModuleList(
            nn.ModuleList(SideBlock(d, h, cfg.mlp_ratio, rates[starts[s] + j]) for j in range(depths[s]))
            for s, (d, h) in enumerate(zip(dims, cfg.num_heads, strict=True))
        )
        self.norms = nn.ModuleList(nn.LayerNorm(d, eps=1e-6) for d in dims)
        self.fc_norm = nn.BatchNorm1d(dims[-1], affine=False, eps=1e-6)
        _init_side(self)

    def run(self, image: torch.Tensor, metas: list[torch.Tensor], maps: list[torch.Tensor]) -> torch.Tensor:
        """The stages over the image, fed block by block; returns the pooled last-stage feature (B, width)."""
        x, b = image, image.shape[0]
        first = 0
        for s, (embed, blocks, norm) in enumerate(zip(self.embeds, self.stages, self.norms, strict=True)):
            x, h, w = embed(x)
            bridge = self.bridges[s]
            for j, block in enumerate(blocks):
                i = first + j
                meta = self.meta_norms[i](bridge(metas[i]))
                feats = bridge(F.interpolate(maps[i], size=(h, w), mode="bilinear", align_corners=False)
                               .flatten(2).transpose(1, 2))
                x = block(x, torch.cat([meta, feats.mean(dim=1, keepdim=True)], dim=1), feats)
            first += len(blocks)
            x = norm(x)
            if s != len(self.stages) - 1:
                x = x.reshape(b, h, w, -1).permute(0, 3, 1, 2)
        return x.mean(dim=1)


def _hst_forward_features(
    model: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
) -> torch.Tensor:
    if attn_mask is not None or is_causal:
        raise ValueError("hst: attention masks / is_causal are not supported (meta tokens change the sequence)")
    side: HSTSide = model.hst
    tokens = _features.embed_tokens(model, x)
    b, m, p = x.shape[0], side.cfg.meta_tokens, _vit.num_prefix_tokens(model)
    gh, gw = model.patch_embed.grid_size
    metas, maps = [], []
    for i in range(len(side.stage_of)):
        t = model.blocks[i](torch.cat([side.meta[i].expand(b, -1, -1).to(tokens.dtype), tokens], dim=1))
        metas.append(t[:, :m])
        maps.append(t[:, m + p:].transpose(1, 2).reshape(b, -1, gh, gw))
        tokens = t[:, m:]
    return side.run(x, metas, maps)


def _hst_forward_head(model: nn.Module, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
    x = model.hst.fc_norm(x)
    return x if pre_logits else model.head(x)


@register("hst", config=HSTConfig, mergeable=False, identity_at_init=False, paper="2310.05393")
class HST(Method):
    cfg: HSTConfig

    @classmethod
    def tiny_model_options(cls) -> dict[str, object]:
        # four stride-2 stages need images of 32+ pixels and ViTs of 4+ blocks; the tiny test ViTs have 2 or 3
        return {"embed_dims": [8, 16], "num_heads": [2, 2], "block_indices": [0, 1]}  # lists: YAML in --set

    def check_model(self, model: nn.Module) -> None:
        blocks = _vit.require_standard_blocks(model, self.spec.id)
        if self.cfg.block_indices[-1] >= len(blocks):
            raise ValueError(f"hst: block_indices {self.cfg.block_indices} reach past the model's {len(blocks)} blocks")
        pe = model.patch_embed
        if not getattr(pe, "flatten", True) or getattr(pe, "dynamic_img_size", False) or not hasattr(pe, "grid_size"):
            raise _vit.UnsupportedModelError(f"method 'hst' needs a fixed patch grid; {_vit.SUPPORTED}")

    def apply(self, model: nn.Module) -> None:
        ref = model.blocks[0].norm1.weight
        side = HSTSide(_vit.embed_dim(model), model.patch_embed.proj.in_channels, self.cfg)
        model.hst = side.to(ref.device, ref.dtype)
        if isinstance(model.head, nn.Linear):
            head = nn.Linear(self.cfg.embed_dims[-1], model.head.out_features)
            _init_side(head)  # the official init_weights: trunc-normal 0.02, zero bias
            model.head = head.to(ref.device, ref.dtype)
        if self.cfg.train_block_norms:
            for block in model.blocks[: len(side.stage_of)]:
                block.norm1.requires_grad_(True)
                block.norm2.requires_grad_(True)
        _features.set_forward_features(model, _hst_forward_features)
        _features.set_forward_head(model, _hst_forward_head)

    def owns(self, name: str) -> bool:
        parts = name.split(".")
        if self.cfg.train_block_norms and len(parts) == 4 and parts[0] == "blocks" and parts[2] in ("norm1", "norm2"):
            return int(parts[1]) <= self.cfg.block_indices[-1]
        return super().owns(name)

    def extra_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        return {f"hst.{n}": b for n, b in model.hst.named_buffers()}
