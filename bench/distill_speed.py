"""Distillation throughput: images/s, achieved FLOP/s vs the machine's matmul FLOP/s, peak memory.

Each case runs in a fresh subprocess so its peak RSS is its own; all cases run side by side in one
invocation so the ratios compare like with like.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import torch

CASES = [  # name, arch, norm, width, image side, in channels, out_dim, batch, steps
    ("small_vgg quick (28x28, m=4096)", "small_vgg", "none", 32, 28, 1, 4096, 256, 8),
    ("small_resnet quick (28x28, m=4096)", "small_resnet", "batch", 16, 28, 1, 4096, 256, 8),
    ("small_vgg 32x32 3ch (m=4096)", "small_vgg", "none", 32, 32, 3, 4096, 256, 8),
    ("resnet18 paper (32x32, m=2^16)", "resnet18", "batch", 64, 32, 3, 65536, 64, 3),
]


def matmul_flops(dtype, n=2048, reps=10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t)


def measure(arch, norm, width, side, ch, out_dim, batch, steps, channels_last, bf16) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    from rtdlib import models
    from rtdlib.config import ModelCfg
    from rtdlib.distill import distill_loss
    cfg = ModelCfg(arch, norm, width, out_dim=out_dim)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    teacher = models.build(cfg, ch, seed=0).eval().requires_grad_(False).to(memory_format=fmt)
    student = models.build(cfg, ch, seed=1).train().to(memory_format=fmt)
    opt = torch.optim.AdamW(student.parameters(), lr=1e-3)
    x = torch.randn(batch, ch, side, side).contiguous(memory_format=fmt)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            with torch.no_grad():
                t = teacher(x)
            loss = distill_loss(student(x).float(), t.float())[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t) / steps
    return {"img_s": batch / dt, "flop_s": flops / dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_case(args: dict) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.distill_speed", json.dumps(args)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table() -> list[str]:
    peak32, peak16 = matmul_flops(torch.float32), matmul_flops(torch.bfloat16)
    lines = [f"Matmul peak measured in this run (2048x2048): fp32 {peak32 / 1e9:.0f} GFLOP/s, "
             f"bf16 {peak16 / 1e9:.0f} GFLOP/s ({peak16 / peak32:.1f}x).", "",
             "| case | variant | images/s | vs fp32 channels_last | GFLOP/s | % of matmul peak | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|"]
    for name, arch, norm, width, side, ch, m, batch, steps in CASES:
        base = None
        for variant, cl, bf16 in (("fp32 channels_last", True, False), ("fp32 NCHW", False, False),
                                  ("bf16 autocast channels_last", True, True)):
            r = run_case(dict(arch=arch, norm=norm, width=width, side=side, ch=ch, out_dim=m, batch=batch,
                              steps=steps, channels_last=cl, bf16=bf16))
            base = base or r["img_s"]
            peak = peak16 if bf16 else peak32
            lines.append(f"| {name} | {variant} | {r['img_s']:.0f} | {r['img_s'] / base:.2f}x | "
                         f"{r['flop_s'] / 1e9:.1f} | {100 * r['flop_s'] / peak:.1f}% | {r['peak_rss_mb']:.0f} |")
    return lines


if __name__ == "__main__":
    print(json.dumps(measure(**json.loads(sys.argv[1]))))
