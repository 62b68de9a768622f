"""What a run asks of its dataset, checked before anything runs: subsets no larger than the splits, a batch no
larger than the train images (else every epoch is one partial step), ViT images at least two patches wide.

Built-in datasets' split sizes and sides are known (below; `plan` prices runs with them); a dataset by path is
read (and cached) once.
Torch-free unless a ViT is checked.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import ConfigError, DataCfg

# the built-in datasets' splits (images) and sides (pixels); these modules check subsets and batches against them
TRAIN_SIZES = {"digits": 1297, "fashion-mnist": 60_000, "cifar10": 50_000, "cifar100": 50_000, "stl10": 5_000,
               "tiny-imagenet": 100_000, "mnist": 60_000, "kmnist": 60_000, "svhn": 73_257, "usps": 7_291}
TEST_SIZES = {"digits": 500, "fashion-mnist": 10_000, "cifar10": 10_000, "cifar100": 10_000, "stl10": 8_000,
              "tiny-imagenet": 10_000, "mnist": 10_000, "kmnist": 10_000, "svhn": 26_032, "usps": 2_007}
SIDES = {"digits": 8, "fashion-mnist": 28, "cifar10": 32, "cifar100": 32, "stl10": 96, "tiny-imagenet": 64,
         "mnist": 28, "kmnist": 28, "svhn": 32, "usps": 16}
CHANNELS = {"digits": 1, "fashion-mnist": 1, "mnist": 1, "kmnist": 1, "usps": 1}  # every other dataset: 3


def part_of(cfg, name: str):
    """cfg.<name> of any run config, looked up through the configs it wraps (distill, train, first, student)."""
    for path in ((), ("distill",), ("train",), ("train", "distill"), ("first",), ("student",)):
        obj = cfg
        for step in path:
            obj = getattr(obj, step, None)
        if getattr(obj, name, None) is not None:
            return getattr(obj, name)
    raise TypeError(f"no {name} in {type(cfg).__name__}")



def data_cfgs(obj):
    """Every DataCfg inside a config, or lists and dicts of configs."""
    if isinstance(obj, DataCfg):
        yield obj
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from data_cfgs(getattr(obj, f.name))
    elif isinstance(obj, (list, tuple, dict)):
        for v in (obj.values() if isinstance(obj, dict) else obj):
            yield from data_cfgs(v)


def splits(d: DataCfg) -> tuple[int, int, int]:
    """(train images, test images, side in pixels) of the whole dataset, before subsets and resizing."""
    if not d.fingerprint:
        return TRAIN_SIZES[d.name], TEST_SIZES[d.name], SIDES[d.name]
    from . import owndata
    s = owndata.read(Path(d.name))
    return len(s.y_train), len(s.y_test), min(s.x_train.shape[2:])


def check(cfg) -> None:
    """ConfigError (one line naming the value and what is allowed) unless the run fits its dataset."""
    d = part_of(cfg, "data")  # the training data (a transfer's probe data may ask for more: it then uses all)
    n_train, n_test, side = splits(d)
    for what, size, n in (("train_size", d.train_size, n_train), ("test_size", d.test_size, n_test)):
        if size is not None and size > n:
            raise ConfigError(f"{what} = {size} exceeds the {n:,} {what[:-5]} images of {d.name}; "
                              f"allowed: 1..{n} (or None for all)")
    n = min(d.train_size or n_train, n_train)
    batch = _batch_size(cfg)
    if batch is not None and batch > n:
        raise ConfigError(f"batch_size = {batch} exceeds the {n:,} train images of {d.name} (each epoch would be "
                          f"one step on {n:,} images); allowed: at most {n}")
    model = part_of(cfg, "model")
    if model.arch.startswith("vit_"):
        from .models.vit import VIT_ARCHS
        patch = VIT_ARCHS[model.arch][1]
        side = d.image_size or side
        if side < 2 * patch:
            raise ConfigError(f"image size {side} is smaller than two ViT patches of {patch} pixels ({model.arch} "
                              f"on {d.name}); allowed: an image size of at least {2 * patch} (image_size, "
                              f"--image-size)")


def _batch_size(cfg) -> int | None:
    try:
        return part_of(cfg, "batch_size")
    except TypeError:  # a kind without training batches (landscape grids)
        return None
