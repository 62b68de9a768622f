"""Dry-run plans: what a profile would run and roughly what it would cost, without data or training."""
from __future__ import annotations

from .profiles import PROFILES
from .sweeps import SWEEPS

# rough seconds per training image on a 2-core CPU, by encoder at 32x32 (the encoder's share scales with the
# pixel count): dry-run estimates only (measured wall times of a profile are in figures/<profile>/MANIFEST.md)
CPU_SEC_PER_IMAGE = {"small_vgg": 1 / 1000, "small_resnet": 1 / 1000, "vgg11": 1 / 130, "resnet18": 1 / 40}
HEAD_SEC_PER_IMAGE_PER_OUTPUT = 2.3e-3 / 2 ** 16  # the last layer's share, linear in m
FORWARD_SHARE = 1 / 3  # an evaluation pass costs about a third of a training step
# the built-in datasets' splits (images) and sides (pixels); `fits` checks subsets and batches against them
TRAIN_SIZES = {"digits": 1297, "fashion-mnist": 60_000, "cifar10": 50_000, "cifar100": 50_000, "stl10": 5_000,
               "tiny-imagenet": 100_000, "mnist": 60_000, "kmnist": 60_000, "svhn": 73_257, "usps": 7_291}
TEST_SIZES = {"digits": 500, "fashion-mnist": 10_000, "cifar10": 10_000, "cifar100": 10_000, "stl10": 8_000,
              "tiny-imagenet": 10_000, "mnist": 10_000, "kmnist": 10_000, "svhn": 26_032, "usps": 2_007}
SIDES = {"digits": 8, "fashion-mnist": 28, "cifar10": 32, "cifar100": 32, "stl10": 96, "tiny-imagenet": 64,
         "mnist": 28, "kmnist": 28, "svhn": 32, "usps": 16}


def part_of(cfg, name: str):
    """cfg.<name> of any run config, looked up through the configs it wraps (distill, train, first)."""
    for path in ((), ("distill",), ("train",), ("train", "distill"), ("first",)):
        obj = cfg
        for step in path:
            obj = getattr(obj, step, None)
        if getattr(obj, name, None) is not None:
            return getattr(obj, name)
    raise TypeError(f"no {name} in {type(cfg).__name__}")


def per_image(cfg, head: bool = True) -> float:
    """Training seconds per image; supervised runs (and MSE peers) use the encoder without the head."""
    model, d = part_of(cfg, "model"), part_of(cfg, "data")
    pixels = ((d.image_size or SIDES.get(d.name, 32)) / 32) ** 2
    return CPU_SEC_PER_IMAGE.get(model.arch, 1 / 40) * pixels + head * HEAD_SEC_PER_IMAGE_PER_OUTPUT * model.out_dim


def estimate_seconds(kind: str, cfg) -> float:
    """Training images seen x seconds per image; evaluation passes at FORWARD_SHARE of that."""
    from .fits import splits  # lazily: fits imports this module
    d = part_of(cfg, "data")
    n_train, n_test, _ = splits(d)
    n, test = min(d.train_size or n_train, n_train), min(d.test_size or n_test, n_test)
    if kind == "restart":
        return estimate_seconds("distill", cfg.first) + estimate_seconds("distill", cfg.second)
    if kind in ("distill", "peers"):  # a peer group trains k networks
        return cfg.epochs * n * per_image(cfg, getattr(cfg, "loss", "ce") == "ce") * getattr(cfg, "k", 1)
    if kind == "supervised":
        return cfg.epochs * n * per_image(cfg, head=False)
    if kind == "lottery":  # every round retrains from the rewind point
        return cfg.rounds * (cfg.train.epochs - cfg.rewind_epoch) * n * per_image(cfg, head=False)
    if kind == "connectivity":  # every pair x gamma: BN re-estimation and a test pass
        pairs = len(cfg.orders) * (len(cfg.orders) - 1) // 2
        return pairs * cfg.gammas * ((cfg.recal_size or n) + test) * per_image(cfg, head=False) * FORWARD_SHARE
    if kind == "landscape":  # every grid point: the loss subset and the probe features
        points = cfg.resolution ** 2 * len(cfg.stack)
        return points * (cfg.eval_size + cfg.probe_train + cfg.probe_test) * per_image(cfg) * FORWARD_SHARE
    raise ValueError(f"no cost model for result kind {kind!r}")


def describe(cfg) -> str:
    """One line per run: the fields a reader checks first, whichever kind of config it is."""
    model = part_of(cfg, "model")
    train = getattr(cfg, "train", cfg)  # lottery and connectivity wrap a supervised run
    fields = [f"{model.arch}/{model.norm}"]
    if hasattr(train, "start"):  # a supervised run: its start point's seed; its own seed is the data order
        fields.append(f"start={train.start} seed={train.distill.seed} order={train.seed}")
    fields += [f"{name}={getattr(cfg, name)}" for name in
               ("seed", "k", "rule", "loss", "epochs", "alpha", "rewind_epoch", "rounds", "orders", "view", "coords",
                "resolution") if hasattr(cfg, name) and not (name == "seed" and hasattr(train, "start"))]
    return " ".join(fields + [f"data={part_of(cfg, 'data').name}", f"out_dim={model.out_dim}"])


def rounds(cfg) -> list:
    """The runs a config stands for (a restart config holds two distillation rounds)."""
    return [cfg.first, cfg.second] if hasattr(cfg, "second") else [cfg]


def hours(secs: float) -> str:
    return f"~{secs / 3600:.1f} CPU-hours" if secs >= 3600 else f"~{secs / 60:.1f} CPU-minutes"


def duration(secs: float) -> str:
    return f"~{secs:.1f} s" if secs < 10 else f"~{secs:.0f} s" if secs < 90 else f"~{secs / 60:.0f} min" if secs < 5400 else f"~{secs / 3600:.1f} h"


def store_status(name: str, P, store) -> tuple[int, int, float]:
    """(runs the store holds, runs the notebook needs, estimated CPU seconds to compute the others) for the
    notebook's settings P (0, 0, 0 for a notebook without sweeps)."""
    have = total = 0
    secs = 0.0
    for kind, make in SWEEPS.get(name, ()):
        for cfg in make(P):
            total += 1
            if store.get(kind, cfg):
                have += 1
            else:
                secs += estimate_seconds(kind, cfg)
    return have, total, secs


def estimate(name: str, P, store) -> str:
    """What `run` and `figures` print before a notebook starts, e.g. "10 runs, ~35 min on 2 CPU cores for
    the 10 the store lacks (a rough estimate); the store has 0"; "" for a notebook without sweeps."""
    have, total, secs = store_status(name, P, store)
    if not total:
        return ""
    if have == total:
        return f"{total} runs, all in the store: redrawing only"
    return (f"{total} runs, {duration(secs)} on 2 CPU cores for the {total - have} the store lacks (a rough "
            f"estimate; a GPU is far faster); the store has {have}")


def sweeps_of(name: str, profile: str):
    """(kind, configs, estimated seconds) of every sweep the notebook runs in the profile; [] if none."""
    if name not in SWEEPS or name not in PROFILES[profile]:
        return []
    P = PROFILES[profile][name]
    return [(kind, cfgs, sum(estimate_seconds(kind, c) for c in cfgs))
            for kind, cfgs in ((kind, make(P)) for kind, make in SWEEPS[name])]


def print_plan(names, profile: str) -> None:
    total = 0.0
    print(f"plan for profile {profile!r} (CPU estimates for this 2-core machine; a GPU is ~50-100x faster)")
    for name in names:
        planned = sweeps_of(name, profile)
        if not planned:
            print(f"  {name}: no plan registered")
            continue
        for kind, cfgs, secs in planned:
            total += secs
            print(f"  {name}: {len(cfgs)} {kind} runs, {hours(secs)}")
            for c in (r for cfg in cfgs for r in rounds(cfg)):
                print(f"    {describe(c)}")
    print(f"total: {hours(total)} (entries shared between notebooks are counted once per notebook)")
