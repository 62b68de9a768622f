"""Dry-run plans: what a profile would run and roughly what it would cost, without data or training."""
from __future__ import annotations

from .profiles import PROFILES
from .sweeps import SWEEPS

# seconds per training image on this project's 2-core CPU (DESIGN.md measurements), by encoder at 32x32
CPU_SEC_PER_IMAGE = {"small_vgg": 1 / 1000, "small_resnet": 1 / 1000, "vgg11": 1 / 130, "resnet18": 1 / 40}
HEAD_SEC_PER_IMAGE_PER_OUTPUT = 2.3e-3 / 2 ** 16  # the last layer's share, linear in m
TRAIN_SIZES = {"digits": 1297, "fashion-mnist": 60_000, "cifar10": 50_000, "cifar100": 50_000,
               "stl10": 5_000, "tiny-imagenet": 100_000}


def rounds(cfg) -> list:
    """The distillation runs a config stands for (a restart config holds two rounds)."""
    return [cfg.first, cfg.second] if hasattr(cfg, "second") else [cfg]


def estimate_seconds(cfg) -> float:
    if hasattr(cfg, "second"):
        return sum(estimate_seconds(c) for c in rounds(cfg))
    n = cfg.data.train_size or TRAIN_SIZES[cfg.data.name]
    per_image = CPU_SEC_PER_IMAGE.get(cfg.model.arch, 1 / 40) + HEAD_SEC_PER_IMAGE_PER_OUTPUT * cfg.model.out_dim
    return cfg.epochs * n * per_image * getattr(cfg, "k", 1)  # a peer group trains k networks


def describe(cfg) -> str:
    """One line per run: the fields a reader checks first, whichever kind of config it is."""
    fields = [f"{cfg.model.arch}/{cfg.model.norm}"] + [
        f"{name}={getattr(cfg, name)}" for name in ("seed", "k", "rule", "loss", "epochs", "alpha")
        if hasattr(cfg, name)]
    return " ".join(fields + [f"data={cfg.data.name}", f"out_dim={cfg.model.out_dim}"])


def print_plan(names, profile: str) -> None:
    total = 0.0
    print(f"plan for profile {profile!r} (CPU estimates for this 2-core machine; a GPU is ~50-100x faster)")
    for name in names:
        if name not in SWEEPS or name not in PROFILES[profile]:
            print(f"  {name}: no plan registered")
            continue
        kind, make = SWEEPS[name]
        cfgs = make(PROFILES[profile][name])
        secs = sum(estimate_seconds(c) for c in cfgs)
        total += secs
        print(f"  {name}: {len(cfgs)} {kind} runs, ~{secs / 3600:.1f} CPU-hours")
        for c in (r for cfg in cfgs for r in rounds(cfg)):
            print(f"    {describe(c)}")
    print(f"total: ~{total / 3600:.1f} CPU-hours")
