"""bf16 autocast vs fp32 for a whole distillation: time, peak memory and the probe accuracy it gives.

The run is the quick profile's own: notebook 02's α = 1e-10 run (small ResNet with BN, width 16,
Fashion-MNIST 8,192 images at 16x16, m = 1024, 1,024 steps of batch 64, probes after epochs 0, 1, 2, 4, 8),
once in fp32 and once with the training step under bf16 autocast (`DistillCfg.precision`; probes stay
fp32). Every (seed, precision) runs in its own subprocess (its own peak RSS), the two precisions
alternating seed by seed so that drift in the machine's speed hits both alike.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

SEEDS = (0, 1, 2, 3, 4)
PROBES = ("linear", "knn")
MARGIN = 1.0  # points: the claims' smallest effect of interest (rtdlib/claims), fixed before the runs


def equivalence(probe: str, d: list[float]) -> str:
    from rtdlib import stats
    mean, lo, hi = stats.ci(d, 0.90)
    p = float(stats.p_tost(d, MARGIN))
    verdict = "equivalent" if p < stats.LEVEL else "not shown equivalent"
    return f"{probe} {mean:+.2f} points, 90% CI [{lo:+.2f}, {hi:+.2f}], TOST p = {p:.2g}: {verdict}"


def config(seed: int, precision: str):
    from rtdlib.profiles import settings
    from rtdlib.sweeps import distill_run
    return distill_run(settings("02_locality", "quick"), "small_resnet", "batch", 16, seed, alpha=1e-10,
                       precision=precision)


def measure(seed: int, precision: str) -> dict:
    from rtdlib.distill import distill
    t = time.perf_counter()
    out = distill(config(seed, precision), device="cpu")
    last = max(p["epoch"] for p in out["probes"])
    return {"seconds": time.perf_counter() - t, "loss": out["history"][-1]["loss"],
            **{p["probe"]: p["acc"] for p in out["probes"] if p["net"] == "student" and p["epoch"] == last},
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run(seed: int, precision: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.precision", str(seed), precision], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table() -> list[str]:
    r = {"fp32": [], "bf16": []}
    for seed in SEEDS:
        for precision in r:
            r[precision].append(run(seed, precision))
    mean = lambda runs, k: sum(x[k] for x in runs) / len(runs)  # noqa: E731
    lines = [f"{len(SEEDS)} seeds per precision, each run the quick profile's notebook-02 run at α = 1e-10 "
             "(small ResNet BN width 16, Fashion-MNIST 8,192 images 16x16, m = 1024, 1,024 steps of batch 64, "
             "student and baselines probed after epochs 0, 1, 2, 4, 8 in fp32 on 2,000 test images). Probe "
             "columns: the student after the last step. Differences are bf16 minus fp32, paired over seeds.", "",
             "| precision | s per run (whole run) | final loss | linear probe (%) | k-NN probe (%) | peak RSS (MB) |",
             "|---|---|---|---|---|---|"]
    for precision, runs in r.items():
        lines.append(f"| {precision} | {mean(runs, 'seconds'):.1f} | {mean(runs, 'loss'):.4f} | "
                     f"{100 * mean(runs, 'linear'):.2f} | {100 * mean(runs, 'knn'):.2f} | "
                     f"{max(x['peak_rss_mb'] for x in runs):.0f} |")
    speed = mean(r["fp32"], "seconds") / mean(r["bf16"], "seconds")
    lines += ["", f"bf16 whole-run speed vs fp32: {speed:.2f}x. Probe accuracy change (bf16 - fp32), paired over "
              f"seeds, equivalence within ±{MARGIN:g} point by TOST (90% CI inside the margin): " + "; ".join(
                  equivalence(probe, [100 * (b[probe] - f[probe]) for b, f in zip(r["bf16"], r["fp32"])])
                  for probe in PROBES) + "."]
    return lines


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), sys.argv[2])))
