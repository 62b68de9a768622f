"""bf16 autocast vs fp32 for a whole distillation: time, peak memory and the student's probe accuracy.

The same quick-sized runs (small_vgg with BN, width 16, Fashion-MNIST 2,000 images at 16x16, m = 1024,
4 epochs, 3 seeds) train in fp32 and with the training step under bf16 autocast (`DistillCfg.precision`);
probes run in fp32 for both. Each precision runs in its own subprocess (its own peak RSS), side by side.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

SEEDS = (0, 1, 2)


def config(seed: int, precision: str):
    from rtdlib.config import DataCfg, DistillCfg, ModelCfg, ProbeCfg
    model = ModelCfg("small_vgg", "batch", 16, out_dim=1024, hidden_dim=512, bottleneck_dim=128)
    return DistillCfg(data=DataCfg("fashion-mnist", 2000, 1000, 16), model=model, epochs=4, batch_size=64,
                      seed=seed, probe_epochs=(4,), probe_nets=("student",), probe=ProbeCfg(low_label=None),
                      precision=precision)


def measure(precision: str) -> dict:
    from rtdlib.distill import distill
    runs = []
    for seed in SEEDS:
        t = time.perf_counter()
        out = distill(config(seed, precision), device="cpu")
        runs.append({"seconds": time.perf_counter() - t, "loss": out["history"][-1]["loss"],
                     **{p["probe"]: p["acc"] for p in out["probes"]}})
    return {"runs": runs, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def table() -> list[str]:
    from rtdlib.stats import paired_test
    r = {}
    for precision in ("fp32", "bf16"):
        out = subprocess.run([sys.executable, "-m", "bench.precision", precision], capture_output=True, text=True,
                             check=True)
        r[precision] = json.loads(out.stdout.strip().splitlines()[-1])
    lines = [f"{len(SEEDS)} distillation runs per precision: small_vgg BN width 16, Fashion-MNIST 2,000 images "
             "16x16, m = 1024, 4 epochs, batch 64; probes (fp32) on 1,000 test images. Differences are "
             "bf16 minus fp32, paired over seeds.", "",
             "| precision | s per run | final loss | linear probe (%) | k-NN probe (%) | peak RSS (MB) |",
             "|---|---|---|---|---|---|"]
    mean = lambda runs, k: sum(x[k] for x in runs) / len(runs)  # noqa: E731
    for precision, out in r.items():
        runs = out["runs"]
        lines.append(f"| {precision} | {mean(runs, 'seconds'):.1f} | {mean(runs, 'loss'):.4f} | "
                     f"{100 * mean(runs, 'linear'):.2f} | {100 * mean(runs, 'knn'):.2f} | {out['peak_rss_mb']:.0f} |")
    speed = mean(r["fp32"]["runs"], "seconds") / mean(r["bf16"]["runs"], "seconds")
    lines.append("")
    lines.append(f"bf16 speed vs fp32: {speed:.2f}x. Probe accuracy change (bf16 - fp32): " + "; ".join(
        f"{probe} {100 * t['mean_diff']:+.2f} points (sd {100 * t['sd_diff']:.2f}, paired t p = {t['p_t']:.2g})"
        for probe in ("linear", "knn")
        for t in [paired_test([x[probe] for x in r["bf16"]["runs"]], [x[probe] for x in r["fp32"]["runs"]])]) + ".")
    return lines


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
