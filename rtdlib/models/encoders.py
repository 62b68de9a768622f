"""Encoders: every one maps images to a flat feature vector and reports `feature_dim`.

ResNets use the CIFAR stem (3x3 conv1, no max-pool) as the paper did; VGGs keep only the
convolutional features, pooled to 1x1 (512-d at 32x32, as in the paper's "embedding R^512").
"""
from __future__ import annotations

import hashlib
import importlib
import inspect

import torchvision
from torch import nn

from ..errors import ConfigError
from . import vit
from .norm import norm2d

VGG_LAYERS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


class Encoder(nn.Module):
    def __init__(self, body: nn.Module, feature_dim: int):
        super().__init__()
        self.body = body
        self.feature_dim = feature_dim

    def forward(self, x):
        return self.body(x).flatten(1)


def conv_block(c_in, c_out, norm):
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=norm == "none"), norm2d(norm, c_out), nn.ReLU(inplace=True)]


def vgg(layers, in_channels=3, norm="none") -> Encoder:
    mods, c = [], in_channels
    for v in layers:
        if v == "M":
            # a max-pool on a 1-pixel map would fail; adaptive pooling makes small inputs work too
            mods.append(nn.MaxPool2d(2, ceil_mode=True))
        else:
            mods += conv_block(c, v, norm)
            c = v
    mods.append(nn.AdaptiveAvgPool2d(1))
    return Encoder(nn.Sequential(*mods), c)


def small_vgg(in_channels=1, norm="batch", width=32, convs_per_stage=1) -> Encoder:
    """The quick profile's VGG-style net: stages of widths w, 2w, 4w, 4w with three max-pools
    between them; one conv per stage (4 layers) by default, two for the deeper variant (8 layers)."""
    layers = []
    for i, w in enumerate((width, 2 * width, 4 * width, 4 * width)):
        layers += (["M"] if i else []) + [w] * convs_per_stage
    return vgg(layers, in_channels, norm)


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.n1 = norm2d(norm, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.n2 = norm2d(norm, c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:  # option B (projection) shortcut
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), norm2d(norm, c_out))

    def forward(self, x):
        out = self.relu(self.n1(self.conv1(x)))
        return self.relu(self.n2(self.conv2(out)) + self.shortcut(x))


def cifar_resnet(blocks_per_stage, widths, in_channels=3, norm="batch") -> Encoder:
    """He et al.'s CIFAR ResNets (ResNet20: 3 blocks per stage, widths 16/32/64)."""
    mods = [nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False), norm2d(norm, widths[0]), nn.ReLU(inplace=True)]
    c = widths[0]
    for i, w in enumerate(widths):
        for j in range(blocks_per_stage):
            mods.append(BasicBlock(c, w, 2 if (j == 0 and i > 0) else 1, norm))
            c = w
    mods.append(nn.AdaptiveAvgPool2d(1))
    return Encoder(nn.Sequential(*mods), c)


def small_resnet(in_channels=1, norm="batch", width=32, blocks_per_stage=1) -> Encoder:
    """The quick profile's ResNet-style net: stem + one basic block at w and one at 2w (stride 2)
    (5 conv layers on the main path); the deeper variant has two blocks per stage (9 layers)."""
    return cifar_resnet(blocks_per_stage, [width, 2 * width], in_channels, norm)


def torchvision_resnet(name, in_channels=3, norm="batch") -> Encoder:
    net = getattr(torchvision.models, name)(weights=None, norm_layer=lambda c: norm2d(norm, c))
    net.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)  # CIFAR stem
    net.maxpool = nn.Identity()
    dim = net.fc.in_features
    net.fc = nn.Identity()
    return Encoder(net, dim)


ENCODER_BUILDERS = {
    "small_vgg": small_vgg,
    "small_resnet": small_resnet,
    "small_vgg8": lambda in_channels, norm, width: small_vgg(in_channels, norm, width, convs_per_stage=2),
    "small_resnet9": lambda in_channels, norm, width: small_resnet(in_channels, norm, width, blocks_per_stage=2),
    "resnet20": lambda in_channels, norm, width: cifar_resnet(3, [16, 32, 64], in_channels, norm),
    "resnet56": lambda in_channels, norm, width: cifar_resnet(9, [16, 32, 64], in_channels, norm),
    **{n: (lambda in_channels, norm, width, n=n: torchvision_resnet(n, in_channels, norm))
       for n in ("resnet18", "resnet34", "resnet50")},
    **{n: (lambda in_channels, norm, width, n=n: vgg(VGG_LAYERS[n], in_channels, norm)) for n in VGG_LAYERS},
    **{n: (lambda in_channels, norm, width, n=n: vit.vit(n, in_channels, norm)) for n in vit.VIT_ARCHS},
}
ENCODERS = tuple(ENCODER_BUILDERS)


def official_conv_init(encoder: nn.Module) -> nn.Module:
    """Kaiming-normal (fan_out, ReLU) conv weights with zero bias, norm affines at 1 and 0: the init of
    torchvision's ResNet/VGG constructors and the authors' public code. PyTorch's default for a hand-built
    Conv2d (kaiming_uniform, a=sqrt(5)) is ~2.4x smaller in std and makes a no-BN VGG's features nearly
    input-independent. Applied after construction, so convs created later (the CIFAR stem) get it too."""
    for m in encoder.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return encoder


def custom_encoder(arch: str):
    """The function named by "package.module:function" (imported; a ConfigError if it is not there)."""
    module, _, name = arch.partition(":")
    if not module or not name or module == "__main__":
        raise ConfigError(f"architecture {arch!r} must be package.module:function of an importable module")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"architecture {arch!r}: cannot import {module} ({e}); is it on PYTHONPATH?") from None
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise ConfigError(f"architecture {arch!r}: module {module} ({mod.__file__}) has no function {name}")
    return fn


def custom_source_hash(arch: str) -> str:
    """Hash of the file defining the function: editing it keys new results (code imported from other files does not)."""
    fn = custom_encoder(arch)
    try:
        source = inspect.getsourcefile(fn)
        with open(source, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except (TypeError, OSError):
        raise ConfigError(f"architecture {arch!r}: the source file of {fn!r} cannot be read, so its results "
                          f"could not be keyed by its code; define it in a .py module") from None


def build_custom(arch: str, in_channels: int, norm: str, width: int) -> Encoder:
    """Call the user's function with those of in_channels, norm, width it accepts; its own init is kept."""
    fn = custom_encoder(arch)
    params = inspect.signature(fn).parameters
    takes_all = any(p.kind == p.VAR_KEYWORD for p in params.values())
    given = {k: v for k, v in dict(in_channels=in_channels, norm=norm, width=width).items() if takes_all or k in params}
    net = fn(**given)
    dim = getattr(net, "feature_dim", None)
    if not isinstance(net, nn.Module) or not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ConfigError(f"architecture {arch!r} returned {type(net).__name__} with feature_dim = {dim!r}; "
                          f"allowed: an nn.Module with a positive integer attribute feature_dim")
    return Encoder(net, dim)  # flattens (N, feature_dim, 1, 1) outputs too


def build_encoder(arch: str, in_channels: int, norm: str, width: int) -> Encoder:
    if ":" in arch:
        return build_custom(arch, in_channels, norm, width)
    if arch not in ENCODER_BUILDERS:
        raise ValueError(f"unknown architecture {arch!r}; allowed: {', '.join(ENCODERS)}")
    encoder = ENCODER_BUILDERS[arch](in_channels=in_channels, norm=norm, width=width)
    return encoder if arch.startswith("vit_") else official_conv_init(encoder)
