"""A compact Vision Transformer encoder (Dosovitskiy et al. 2021) for Table 5.

Pre-norm blocks (x + MHSA(LN(x)), x + MLP(LN(x)), MLP ratio 4, GELU), a learned CLS token and
positional embedding, a final LayerNorm; the feature is the CLS token (as in ViT and DINO).
Sizes follow the DeiT/DINO naming (12 blocks): Tiny 192-d/3 heads, Small 384/6, Medium 512/8,
Base 768/12. Patch size 8 on 32x32 images gives 16 tokens + CLS; the positional embedding is
learned for that 4x4 grid and interpolated (bicubic) for other grids, as DINO does. The `_p4` variants
(e.g. vit_tiny_p4) use patch size 4: on 16x16 inputs the same 4x4 grid as the paper's patch 8 on 32x32.
The initialization is the authors' (see `ViT.__init__`); where the architecture differs from theirs,
docs/faithfulness.md says how.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

VIT_SIZES = {"vit_tiny": (192, 3), "vit_small": (384, 6), "vit_medium": (512, 8), "vit_base": (768, 12)}


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # attention over tokens, per head
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, dim, heads, norm):
        super().__init__()
        self.n1, self.attn = norm(dim), Attention(dim, heads)
        self.n2 = norm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.n1(x))
        return x + self.mlp(self.n2(x))


PATCH = 8  # side of our ViTs' patches in pixels (the paper's, on 32x32 CIFAR-10)
SMALL_PATCH = 4  # for 16x16 inputs: the paper's 4x4 grid of patches
VIT_ARCHS = {**{n: (n, PATCH) for n in VIT_SIZES}, **{f"{n}_p{SMALL_PATCH}": (n, SMALL_PATCH) for n in VIT_SIZES}}


class ViT(nn.Module):
    def __init__(self, in_channels=3, dim=192, depth=12, heads=3, patch=PATCH, grid=4, norm="layer"):
        super().__init__()
        if dim % heads:
            raise ValueError(f"ViT width {dim} is not divisible by {heads} heads")
        if norm not in ("layer", "none"):
            raise ValueError(f"ViT norm layer {norm!r} is not supported; allowed: layer, none")
        make_norm = nn.LayerNorm if norm == "layer" else (lambda d: nn.Identity())
        self.patch, self.feature_dim = patch, dim
        self.embed = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 1 + grid * grid, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads, make_norm) for _ in range(depth)])
        self.norm = make_norm(dim)
        # the authors' ViT init (its reset_parameters 'default' method, the one their runs call): CLS token and
        # positional embedding N(0, 1); linear layers and the patch projection keep PyTorch's default
        # (uniform +-1/sqrt(fan_in) weights and biases); LayerNorm 1 and 0
        for p in (self.cls, self.pos):
            nn.init.normal_(p, std=1.0)

    def pos_embedding(self, h, w):
        """The learned positional embedding, resized to an h x w patch grid if that differs."""
        cls_pos, grid_pos = self.pos[:, :1], self.pos[:, 1:]
        g = math.isqrt(grid_pos.shape[1])
        if (h, w) != (g, g):
            grid_pos = grid_pos.reshape(1, g, g, -1).permute(0, 3, 1, 2)
            grid_pos = F.interpolate(grid_pos, size=(h, w), mode="bicubic", align_corners=False)
            grid_pos = grid_pos.permute(0, 2, 3, 1).flatten(1, 2)
        return torch.cat([cls_pos, grid_pos], dim=1)

    def forward(self, x):
        if min(x.shape[-2:]) < self.patch:
            raise ValueError(f"image of size {tuple(x.shape[-2:])} is smaller than the ViT patch size {self.patch}")
        x = self.embed(x)
        h, w = x.shape[-2:]
        x = torch.cat([self.cls.expand(len(x), -1, -1), x.flatten(2).transpose(1, 2)], dim=1)
        x = self.blocks(x + self.pos_embedding(h, w))
        return self.norm(x[:, 0])


def vit(arch: str, in_channels=3, norm="layer") -> ViT:
    """The ViT named `arch` (VIT_ARCHS: a size, with "_p4" patch size 4)."""
    size, patch = VIT_ARCHS[arch]
    dim, heads = VIT_SIZES[size]
    return ViT(in_channels, dim, depth=12, heads=heads, patch=patch, grid=4, norm=norm)


def authors_param_count(dim: int, in_channels=3, patch=16, grid=2, unique_blocks=1) -> int:
    """Encoder parameter count of a ViT as built by the authors' public code (safelix/dinopl, models/vit.py).

    That ViT repeats ONE Block object `num_layers` times (a Python list product), so its 12 layers
    share one set of weights, and its constructors default to patch size 16 (a 2x2 grid on 32x32).
    Table 5's #PARAMS equal this count exactly for all four ViTs; our ViT has 12 distinct blocks.
    """
    block = 12 * dim * dim + 13 * dim  # qkv, proj and the two MLP layers with biases, two LayerNorms
    embed = in_channels * patch * patch * dim + dim  # patch projection with bias
    return unique_blocks * block + embed + dim + (1 + grid * grid) * dim + 2 * dim  # + CLS, positions, final LN


# Table 5's #PARAMS column (encoders only, CIFAR-10 input)
TABLE5_PARAMS = {"vgg11": 9_220_480, "vgg13": 9_404_992, "vgg16": 14_714_688, "vgg19": 20_024_384,
                 "resnet20": 271_824, "resnet56": 855_120, "resnet18": 11_168_832, "resnet34": 21_276_992,
                 "resnet50": 23_500_352, "vit_tiny": 594_048, "vit_small": 2_072_832, "vit_medium": 3_550_208,
                 "vit_base": 7_684_608}
