"""Sweep executor: one process with two PyTorch threads vs two worker processes with one thread each.

The same configs (the quick locality sweep's small nets, fewer epochs) run through
`executor.run_all` both ways, side by side, each in a fresh process and temporary store; the table
gives the elapsed time of the whole sweep, the ratio and the peak memory. Run it alone.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import torch

from rtdlib import executor
from rtdlib.config import DataCfg, DistillCfg, ModelCfg
from rtdlib.store import Store

HEAD = dict(out_dim=1024, hidden_dim=512, bottleneck_dim=128)
NETS = [("small_resnet", "batch", 16), ("small_vgg", "none", 16)]


def sweep(n_runs=4, epochs=2):
    data = DataCfg("fashion-mnist", 1024, 1000, 16)
    return [DistillCfg(data=data, model=ModelCfg(a, n, w, **HEAD), epochs=epochs, batch_size=64, seed=s,
                       probe_epochs=(0, epochs))
            for s in range(n_runs // len(NETS)) for a, n, w in NETS]


def measure(workers: int, threads: int) -> dict:
    """The sweep into a fresh store; wall time and the peak RSS of this process and of its workers."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        executor.run_all("distill", sweep(), Store(tmp), workers=workers)
        seconds = time.perf_counter() - t
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return {"seconds": seconds, "peak_rss_mb": peak / 1024}


def run_case(workers: int, threads: int) -> dict:
    """Each case in a fresh process, so its peak memory is its own."""
    out = subprocess.run([sys.executable, "-m", "bench.executor", str(workers), str(threads)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table() -> list[str]:
    cores = os.cpu_count()
    load = os.getloadavg()[0]
    seq = run_case(workers=1, threads=cores)
    par = run_case(workers=cores, threads=1)
    return [f"{len(sweep())} distillation runs (small_resnet BN / small_vgg no BN, width 16, Fashion-MNIST 16x16, "
            f"1,024 images, 2 epochs, m = 1024), {cores} cores, load average before: {load:.1f}, after: "
            f"{os.getloadavg()[0]:.1f} (a 2-thread process suffers most when the cores are oversubscribed). "
            "Peak RSS: the largest single process (the pool's is a worker's).", "",
            "| executor | elapsed (s) | speed-up | peak RSS (MB) |", "|---|---|---|---|",
            f"| sequential, 1 process x {cores} threads (`workers=1`) | {seq['seconds']:.1f} | 1.00x | "
            f"{seq['peak_rss_mb']:.0f} |",
            f"| pool, {cores} processes x 1 thread (default) | {par['seconds']:.1f} | "
            f"{seq['seconds'] / par['seconds']:.2f}x | {par['peak_rss_mb']:.0f} |"]


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]))))
