"""A small Vision Transformer encoder, its MAE decoder, and the Re-ID embedding network built on it.

One idea per class, in the layout of facebookresearch/mae ``models_mae.py``. Attention is written out
(``softmax(q k^T / sqrt(d)) v``) rather than fused, because the meta update (Eq. 5-7) differentiates through
a gradient step and needs double-backward through every op. Positional embeddings are fixed 2-D sin-cos, so
the same code serves any image size in config.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.reid.config import ModelConfig

# Transformer weights start from a truncated normal of this std, as in ViT / MAE.
INIT_STD = 0.02
LAYER_NORM_EPS = 1e-6


def sincos_pos_embed(width: int, grid_hw: tuple[int, int], with_cls: bool) -> torch.Tensor:
    """Fixed 2-D sin-cos positional embedding: (1 + N or N, width), the CLS row all zeros."""
    if width % 4:
        raise ValueError(f"positional embedding width {width} must be a multiple of 4")
    gh, gw = grid_hw
    quarter = width // 4
    omega = 1.0 / 10000 ** (np.arange(quarter, dtype=np.float64) / quarter)
    ys, xs = np.meshgrid(np.arange(gh, dtype=np.float64), np.arange(gw, dtype=np.float64), indexing="ij")
    parts = []
    for coord in (ys.reshape(-1), xs.reshape(-1)):
        angles = np.outer(coord, omega)
        parts += [np.sin(angles), np.cos(angles)]
    table = np.concatenate(parts, axis=1)
    if with_cls:
        table = np.concatenate([np.zeros((1, width)), table], axis=0)
    return torch.from_numpy(table).float()


class Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, key_pad: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, L, C); key_pad: (B, L) bool, True = padding that no token may attend to."""
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        logits = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        if key_pad is not None:
            logits = logits.masked_fill(key_pad[:, None, None, :], float("-inf"))
        out = logits.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(width * mlp_ratio)
        self.norm1 = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor, key_pad: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), key_pad)
        return x + self.mlp(self.norm2(x))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class VitEncoder(nn.Module):
    """Patch embedding + CLS token + transformer blocks.

    ``forward(images (B, 3, H, W), keep (B, L) long | None, keep_pad (B, L) bool | None)`` -> tokens
    (B, 1 + L, width): the CLS token first, then the kept patches (all N patches when ``keep`` is None).
    """

    def __init__(self, cfg: ModelConfig, image_size: tuple[int, int]) -> None:
        super().__init__()
        self.patch = cfg.patch
        self.width = cfg.width
        self.grid = (image_size[0] // cfg.patch, image_size[1] // cfg.patch)
        self.patch_embed = nn.Conv2d(3, cfg.width, kernel_size=cfg.patch, stride=cfg.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.register_buffer("pos_embed", sincos_pos_embed(cfg.width, self.grid, with_cls=True)[None])
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.width, eps=LAYER_NORM_EPS)
        self.apply(_init_weights)
        # The patch projection is a linear map of flattened patches; initialise it like one (MAE).
        nn.init.xavier_uniform_(self.patch_embed.weight.view(cfg.width, -1))
        nn.init.normal_(self.cls_token, std=INIT_STD)

    @property
    def n_patches(self) -> int:
        return self.grid[0] * self.grid[1]

    def forward(
        self,
        images: torch.Tensor,
        keep: torch.Tensor | None = None,
        keep_pad: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = self.patch_embed(images).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        if keep is not None:
            x = torch.gather(x, 1, keep[..., None].expand(-1, -1, x.shape[-1]))
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        pad = None
        if keep_pad is not None:
            pad = torch.cat([torch.zeros_like(keep_pad[:, :1]), keep_pad], dim=1)
        for block in self.blocks:
            x = block(x, pad)
        return self.norm(x)

    def patch_features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, N, width) features of every patch, in raster order (for Eq. 1-2)."""
        return self.forward(images)[:, 1:]


class MaeDecoder(nn.Module):
    """Lightweight MAE decoder: visible tokens back in place, a shared mask token elsewhere -> pixels.

    ``forward(tokens (B, 1 + L, width), keep (B, L), keep_pad (B, L))`` -> (B, N, P*P*3) patch pixels.
    """

    def __init__(self, cfg: ModelConfig, image_size: tuple[int, int]) -> None:
        super().__init__()
        grid = (image_size[0] // cfg.patch, image_size[1] // cfg.patch)
        self.n_patches = grid[0] * grid[1]
        self.embed = nn.Linear(cfg.width, cfg.decoder_width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.decoder_width))
        self.register_buffer("pos_embed", sincos_pos_embed(cfg.decoder_width, grid, with_cls=True)[None])
        self.blocks = nn.ModuleList(
            Block(cfg.decoder_width, cfg.decoder_heads, cfg.mlp_ratio) for _ in range(cfg.decoder_depth)
        )
        self.norm = nn.LayerNorm(cfg.decoder_width, eps=LAYER_NORM_EPS)
        self.pred = nn.Linear(cfg.decoder_width, cfg.patch * cfg.patch * 3)
        self.apply(_init_weights)
        nn.init.normal_(self.mask_token, std=INIT_STD)

    def forward(self, tokens: torch.Tensor, keep: torch.Tensor, keep_pad: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        b, width = x.shape[0], x.shape[-1]
        # Padding slots are scattered into one spare slot past the last patch, which is then dropped.
        full = self.mask_token.expand(b, self.n_patches + 1, width).clone()
        idx = keep.masked_fill(keep_pad, self.n_patches)
        full = full.scatter(1, idx[..., None].expand(-1, -1, width), x[:, 1:])[:, : self.n_patches]
        x = torch.cat([x[:, :1], full], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.pred(self.norm(x))[:, 1:]


class ReidNet(nn.Module):
    """The Re-ID embedding network: encoder feature (CLS token or mean of the patch tokens, by config) ->
    BatchNorm neck (BNNeck, Luo et al.).

    ``forward(images (B, 3, H, W))`` -> (feature (B, width) before the neck, for the triplet loss;
    neck feature (B, width), for the classifier and, L2-normalised, the inference embedding).
    """

    def __init__(self, cfg: ModelConfig, image_size: tuple[int, int]) -> None:
        super().__init__()
        self.encoder = VitEncoder(cfg, image_size)
        self.neck = nn.BatchNorm1d(cfg.width)
        # The neck's shift is frozen at zero (BNNeck): the embedding stays centred for cosine matching.
        self.neck.bias.requires_grad_(False)
        self.dim = cfg.width
        self.pool = cfg.pool

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.encoder(images)
        feature = tokens[:, 0] if self.pool == "cls" else tokens[:, 1:].mean(dim=1)
        return feature, self.neck(feature)

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalised images -> (B, width) float32 L2-normalised embeddings."""
        return F.normalize(self.forward(images)[1], dim=1)


class EmbeddingHead(nn.Module):
    """Inference-only wrapper: images -> L2-normalised embeddings, the graph that export traces."""

    def __init__(self, net: ReidNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(images)[1], dim=1)
