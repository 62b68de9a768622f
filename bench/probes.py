"""The two linear probes side by side on one configuration: accuracy and time.

The default probe is a full-batch L-BFGS fit (100 iterations) on standardized features; the authors' probe
(`ProbeCfg.linear_optimizer="adamw"`, used by every paper profile) trains an nn.Linear with AdamW at PyTorch's
defaults for 10 epochs of batch 256 on raw features. Both see the same features: Fashion-MNIST at 16x16,
all 60,000 train and 10,000 test images, from the flattened input and from random small_vgg teachers
(BN, width 32) of three seeds, in eval mode. Feature extraction is not timed.
"""
from __future__ import annotations

import time

SEEDS = (0, 1, 2)


def table() -> list[str]:
    from rtdlib import data, models, stats
    from rtdlib.config import DataCfg, ModelCfg
    from rtdlib.probe import adamw_linear_probe, features, linear_probe, raw_features
    ds = data.load(DataCfg("fashion-mnist", None, None, 16), "cpu")
    nets = [("input", None)] + [(f"small_vgg teacher, seed {s}", models.build(ModelCfg("small_vgg", "batch", 32),
                                                                              1, seed=s)) for s in SEEDS]
    lines = ["Fashion-MNIST 16x16, 60,000 train / 10,000 test images; L-BFGS: 100 iterations, standardized "
             "features, L2 1e-4; authors' AdamW: lr 1e-3, weight decay 0.01, 10 epochs of batch 256, raw features.",
             "", "| features | L-BFGS acc. (%) | L-BFGS s | authors' AdamW acc. (%) | AdamW s |", "|---|---|---|---|---|"]
    accs = {"lbfgs": [], "adamw": []}
    for name, net in nets:
        if net is None:
            ftr, fte = raw_features(ds.x_train, ds.normalize), raw_features(ds.x_test, ds.normalize)
        else:
            ftr, fte = features(net, ds.x_train, ds.normalize), features(net, ds.x_test, ds.normalize)
        row = []
        for key, probe in (("lbfgs", linear_probe), ("adamw", adamw_linear_probe)):
            t = time.perf_counter()
            acc = probe(ftr, ds.y_train, fte, ds.y_test, ds.num_classes)
            row += [f"{100 * acc:.2f}", f"{time.perf_counter() - t:.1f}"]
            if net is not None:
                accs[key].append(acc)
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    mean, lo, hi = stats.ci([100 * (a - b) for a, b in zip(accs["adamw"], accs["lbfgs"])])
    lines += ["", f"Teachers, authors' AdamW minus L-BFGS: {mean:+.2f} points (95% CI [{lo:+.2f}, {hi:+.2f}] over "
                  f"{len(SEEDS)} seeds, paired t)."]
    return lines


if __name__ == "__main__":
    print("\n".join(table()))
