"""Normalization layers by name, for the norm-layer ablation (Fig. 11)."""
from torch import nn

NORMS = ("batch", "instance", "group", "layer", "none")


def norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "layer":  # LayerNorm over (C, H, W), which is GroupNorm with one group
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm layer {kind!r}; allowed: {', '.join(NORMS)}")


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
