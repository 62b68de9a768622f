"""Where a quick distillation's time goes: training steps, data, probe features, L-BFGS, k-NN.

Each case runs the quick profile's own configs, one process at a time (1 thread, as a pool worker
runs them), in two modes: every run on its own (the baselines' probes recomputed in every run, as
before the memo of constant probes), and the runs in sequence in one worker (input and teacher probes
taken from `distill.CONSTANT_PROBES` when an earlier run of the worker computed them).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import contextmanager

PARTS = ("data", "features", "bn_recal", "lbfgs", "knn")
CASES = {  # name: (notebook, what the runs are)
    "02": "notebook 02, one seed: small_resnet BN, α ∈ {0, 1e-10, 1e-3, 0.3, 0.6, 1} (one teacher)",
    "01": "notebook 01, one seed: small_vgg no BN on all 60,000 images, 9 epochs, 10 probe points",
}


def configs(case: str):
    from rtdlib.profiles import settings
    from rtdlib.sweeps import locality, student_vs_teacher
    if case == "02":
        return [c for c in locality(settings("02_locality", "quick")) if c.seed == 0 and c.model.norm == "batch"]
    return [c for c in student_vs_teacher(settings("01_student_vs_teacher", "quick"))
            if c.seed == 0 and c.model.arch == "small_vgg"]


def measure(case: str, share: bool) -> dict:
    """Seconds per part summed over the case's runs; `share` keeps the memo between runs."""
    import torch

    from rtdlib import data, distill, probe
    torch.set_num_threads(1)
    spent = dict.fromkeys(PARTS, 0.0)

    @contextmanager
    def patched(module, name, part):
        inner = getattr(module, name)

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                spent[part] += time.perf_counter() - t
        setattr(module, name, timed)
        try:
            yield
        finally:
            setattr(module, name, inner)

    cfgs = configs(case)
    total = time.perf_counter()
    with patched(data, "load", "data"), patched(distill, "features", "features"), \
            patched(distill, "raw_features", "features"), patched(distill, "recalibrate_bn", "bn_recal"), \
            patched(probe, "linear_probe", "lbfgs"), patched(probe, "knn_probe", "knn"):
        for cfg in cfgs:
            if not share:
                distill.CONSTANT_PROBES.clear()
            distill.distill(cfg, device="cpu")
    total = time.perf_counter() - total
    return {"runs": len(cfgs), "total": total, "training": total - sum(spent.values()), **spent}


def run(case: str, share: bool) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.breakdown", case, str(int(share))], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(cases=("02", "01")) -> list[str]:
    cols = ("training", *PARTS)
    lines = ["Seconds summed over the case's runs, each part timed around its function (training: the rest, "
             "i.e. forward, backward, AdamW and the epoch-0 objective). 1 thread per process, as a pool worker. "
             "Before: every run probes its input and teacher itself; after: a worker's later runs take those "
             "probes from the memo (the same accuracies, computed once per worker).", "",
             "| case | runs | mode | total (s) | " + " | ".join(cols) + " | vs before |",
             "|---|---|---|---|" + "---|" * len(cols) + "---|"]
    for case in cases:
        before = run(case, False)
        modes = (("before", before), ("after", run(case, True))) if before["runs"] > 1 else (("one run", before),)
        for mode, r in modes:
            shares = " | ".join(f"{r[c]:.1f} ({r[c] / r['total']:.0%})" for c in cols)
            lines.append(f"| {CASES[case]} | {r['runs']} | {mode} | {r['total']:.1f} | {shares} | "
                         f"{before['total'] / r['total']:.2f}x |")
    return lines


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], bool(int(sys.argv[2])))))
