"""Landscape grid throughput: grid points per second, plain loop vs torch.func (functional_call + vmap).

The quick profile's net (small_resnet with BN, width 16, m = 4096) with random weights on
Fashion-MNIST-shaped inputs: the evaluation cost does not depend on the weights, so no training
is needed. Each case runs in a fresh subprocess so its peak RSS is its own.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

CASES = [  # label, metrics included, eval images, probe train, probe test, linear steps
    ("losses only (512 train images)", "losses", 512, 0, 0, 0),
    ("quick profile (losses + linear/k-NN probes)", "all", 512, 500, 250, 30),
]


def measure(method: str, chunk: int, what: str, eval_size: int, probe_train: int, probe_test: int,
            linear_steps: int, points: int = 8) -> dict:
    import torch

    from rtdlib import models
    from rtdlib.config import DataCfg, DistillCfg, ModelCfg
    from rtdlib.landscape import Evaluator, LandscapeCfg, filter_normalized_direction, flat_params
    dcfg = DistillCfg(data=DataCfg("fashion-mnist", 4000, 2000),
                      model=ModelCfg("small_resnet", "batch", 16, out_dim=4096, hidden_dim=1024, bottleneck_dim=256))
    cfg = LandscapeCfg(distill=dcfg, eval_size=eval_size, probe_train=max(probe_train, 20),
                       probe_test=max(probe_test, 20), linear_steps=max(linear_steps, 1), chunk=chunk)
    teacher = models.build(dcfg.model, 1, seed=0).eval()
    ev = Evaluator(cfg, teacher, "cpu")
    if what == "losses":  # time the forward passes and loss sums alone
        ev._features = lambda fn, x, dim=0: torch.zeros(chunk, 1)  # probes skipped
        ev.metrics = lambda theta, logits, feats, f_ptr, f_pte: {"loss": sum(float(l.sum()) for l in logits)}
    theta0 = flat_params(teacher)
    d = filter_normalized_direction(teacher, theta0, 0)
    thetas = [theta0 + 0.1 * k * d for k in range(points)]
    fn = ev.batched if method == "batched" else ev.loop
    fn(thetas[:chunk])  # warm-up
    t = time.perf_counter()
    for i in range(0, points, chunk):
        fn(thetas[i:i + chunk])
    dt = time.perf_counter() - t
    return {"points_s": points / dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_case(args: dict) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.landscape", json.dumps(args)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table() -> list[str]:
    lines = ["Quick net: small_resnet (BN, width 16), m = 4096, Fashion-MNIST 28x28, 8 grid points per case "
             "(after one warm-up call), "
             "BN buffers kept (eval mode).", "",
             "| case | method | grid points/s | vs loop | peak RSS (MB) |", "|---|---|---|---|---|"]
    for label, what, n_eval, ptr, pte, steps in CASES:
        base = None
        for method, chunk in (("loop", 1), ("batched", 4), ("batched", 8)):
            r = run_case(dict(method=method, chunk=chunk, what=what, eval_size=n_eval, probe_train=ptr,
                              probe_test=pte, linear_steps=steps))
            base = base or r["points_s"]
            name = "plain loop" if method == "loop" else f"vmap, {chunk} points per call"
            lines.append(f"| {label} | {name} | {r['points_s']:.2f} | {r['points_s'] / base:.2f}x | "
                         f"{r['peak_rss_mb']:.0f} |")
    return lines


if __name__ == "__main__":
    print(json.dumps(measure(**json.loads(sys.argv[1]))))
