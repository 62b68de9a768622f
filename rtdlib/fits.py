"""What a run asks of its dataset, checked before anything runs: subsets no larger than the splits, a batch no
larger than the train images (else every epoch is one partial step), ViT images at least two patches wide.

Built-in datasets' split sizes and sides are known (`plan`); a dataset by path is read (and cached) once.
Torch-free unless a ViT is checked.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import ConfigError, DataCfg
from .plan import SIDES, TEST_SIZES, TRAIN_SIZES, part_of


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
