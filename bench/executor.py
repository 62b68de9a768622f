"""Sweep executor: one process with two PyTorch threads vs two worker processes with one thread each.

The same configs (the quick locality sweep's small nets, fewer epochs) run through
`executor.run_all` both ways, side by side, each into a fresh temporary store; the table gives the
elapsed time of the whole sweep and the ratio. Measured on a shared machine, so run it alone.
"""
from __future__ import annotations

import os
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


def elapsed(cfgs, workers: int, threads: int) -> float:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            executor.run_all("distill", cfgs, Store(tmp), workers=workers)
            return time.perf_counter() - t
    finally:
        torch.set_num_threads(before)


def table() -> list[str]:
    cfgs = sweep()
    cores = os.cpu_count()
    load = os.getloadavg()[0]
    seq = elapsed(cfgs, workers=1, threads=cores)
    par = elapsed(cfgs, workers=cores, threads=1)
    return [f"{len(cfgs)} distillation runs (small_resnet BN / small_vgg no BN, width 16, Fashion-MNIST 16x16, "
            f"1,024 images, 2 epochs, m = 1024), {cores} cores, load average before: {load:.1f}, after: "
            f"{os.getloadavg()[0]:.1f} (a 2-thread process suffers most when the cores are oversubscribed).", "",
            "| executor | elapsed (s) | speed-up |", "|---|---|---|",
            f"| sequential, 1 process x {cores} threads (`workers=1`) | {seq:.1f} | 1.00x |",
            f"| pool, {cores} processes x 1 thread (default) | {par:.1f} | {seq / par:.2f}x |"]


if __name__ == "__main__":
    print("\n".join(table()))
