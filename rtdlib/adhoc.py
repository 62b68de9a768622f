"""`python -m rtdlib distill`: one random-teacher distillation on any dataset, stored like every other run.

Prints the probe table (input, teacher, BN-recalibrated teacher, student); the run goes through the
results store, so repeating the command reads it back. Defaults are notebook 01's quick profile.
Module-level imports stay torch-free: the command line is parsed before torch is imported.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .profiles import PROFILES

DEFAULTS = PROFILES["quick"]["01_student_vs_teacher"]
ARCH, NORM, WIDTH = DEFAULTS["archs"][0]
VIT_NORM = "layer"  # our ViTs take layer norm or none, not the small nets' batch norm


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="PATH",
                   help="a .npz file (x_train/y_train/x_test/y_test, or x/y), an ImageFolder directory, "
                        "or a built-in dataset name")
    p.add_argument("--arch", default=ARCH, help=f"a built-in encoder or package.module:function (default {ARCH})")
    p.add_argument("--norm", help=f"norm layer (default {NORM}; {VIT_NORM} for a ViT)")
    p.add_argument("--width", type=int, default=WIDTH, help=f"base width of the small nets (default {WIDTH})")
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--alpha", type=float, default=DEFAULTS["alpha"], help="locality of the student's init")
    for name, value in DEFAULTS["head"].items():
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=value, help=f"head (default {value})")
    p.add_argument("--image-size", type=int, help="resize images to this side length")
    p.add_argument("--train-size", type=int, help="a seeded subset of the train split")
    p.add_argument("--test-size", type=int, help="a seeded subset of the test split")


def config(args):
    """The DistillCfg of the command line (a ConfigError names any bad value)."""
    from . import data
    from .config import DataCfg, DistillCfg, ModelCfg
    from .sweeps import BASELINE_NETS
    name = args.data if args.data in data.DATASETS else Path(args.data)
    norm = args.norm or (VIT_NORM if args.arch.startswith("vit_") else NORM)
    return DistillCfg(data=DataCfg(name, args.train_size, args.test_size, args.image_size),
                      model=ModelCfg(args.arch, norm, args.width, out_dim=args.out_dim,
                                     hidden_dim=args.hidden_dim, bottleneck_dim=args.bottleneck_dim),
                      alpha=args.alpha, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      probe_epochs=(args.epochs,), probe_nets=(*BASELINE_NETS, "student"))


def run(args, log=print):
    """Compute (or read) the run and print what it found; returns the store Result."""
    from . import data, fits
    from .config import default_device
    from .distill import distill
    from .plotting import LABELS
    from .store import Store
    cfg = config(args)
    fits.check(cfg)
    device = default_device()  # a bad RTD_DEVICE stops here, before the store makes the entry's folder
    ds = data.load(cfg.data)
    mean, std = (", ".join(f"{v:.4f}" for v in s) for s in ds.stats)
    origin = "measured on its train split" if cfg.data.fingerprint or cfg.data.name not in data.STATS else "published"
    log(f"data: {cfg.data.name}" + (f" (content {cfg.data.fingerprint})" if cfg.data.fingerprint else "") +
        f": {len(ds.x_train)} train / {len(ds.x_test)} test images of {'x'.join(map(str, ds.shape))}, "
        f"{ds.num_classes} classes; normalization mean ({mean}) std ({std}), {origin}")
    store = Store()
    found = store.get("distill", cfg)
    started = time.time()
    result = found or store.get_or_run("distill", cfg, distill)
    how = "read from the store" if found else f"computed on {device} in {time.time() - started:.0f} s"
    log(f"run: distill/{result.hash} {how} ({result.path})")
    final = [r for r in result.metrics["probes"] if r["epoch"] == cfg.epochs]
    nets = [n for n in cfg.probe_nets if any(r["net"] == n for r in final)]
    probes = list(dict.fromkeys(r["probe"] for r in final))
    acc = {(r["net"], r["probe"]): r["acc"] for r in final}
    cols = [LABELS[n] for n in nets]
    log(f"\nprobe accuracy (%) after {cfg.epochs} epochs ({cfg.model.arch}, norm {cfg.model.norm}, seed {cfg.seed})")
    log(f"{'probe':<11}" + "".join(f"{c:>{len(c) + 3}}" for c in cols))
    for p in probes:
        log(f"{p:<11}" + "".join(f"{100 * acc[n, p]:>{len(c) + 3}.1f}" for n, c in zip(nets, cols)))
    if "teacher_bnrecal" not in nets:
        log("(no BN layers: the BN-recalibrated teacher is the teacher)")
    return result

