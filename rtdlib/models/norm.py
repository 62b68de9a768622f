"""Normalization layers by name, for the norm-layer ablation (Fig. 11)."""
from torch import nn

NORMS = ("batch", "instance", "group", "layer", "none")


def norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(group_count(channels), channels)
    if kind == "layer":  # LayerNorm over (C, H, W), which is GroupNorm with one group
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm layer {kind!r}; allowed: {', '.join(NORMS)}")


def group_count(channels: int) -> int:
    """GroupNorm8: groups of 8 channels, `GroupNorm(C // 8)` as in the authors' code (Fig. 11's "GroupNorm8").
    A width that is not a multiple of 8 gets the most groups of at least 8 channels that divide it, and a
    width below 8 one group (where C // 8 = 0 would fail)."""
    return next(g for g in range(max(1, channels // 8), 0, -1) if channels % g == 0)


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
