"""Models: encoders, the l2-bottleneck head, and norm layers."""
from __future__ import annotations

import torch

from .encoders import ENCODERS, build_encoder
from .head import Head, Net
from .norm import NORMS, has_batchnorm

__all__ = ["ENCODERS", "NORMS", "Head", "Net", "build", "has_batchnorm"]


def build(cfg, in_channels: int, seed: int | None = None) -> Net:
    """A fresh network for a ModelCfg; with a seed, its initialization is reproducible."""
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        enc = build_encoder(cfg.arch, in_channels, cfg.norm, cfg.width)
        head = Head(enc.feature_dim, cfg.out_dim, cfg.hidden_dim, cfg.bottleneck_dim,
                    cfg.head_parts, cfg.authors_code)
        return Net(enc, head)
