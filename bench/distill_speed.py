"""Distillation throughput: images/s, achieved FLOP/s vs the machine's peak FLOP/s, peak memory.

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

from rtdlib.config import cpu_bf16_flags

CASES = [  # name, arch, norm, width, image side, in channels, out_dim, batch, steps
    ("small_vgg quick (28x28, m=4096)", "small_vgg", "none", 32, 28, 1, 4096, 256, 8),
    ("small_resnet quick (28x28, m=4096)", "small_resnet", "batch", 16, 28, 1, 4096, 256, 8),
    ("small_vgg 32x32 3ch (m=4096)", "small_vgg", "none", 32, 32, 3, 4096, 256, 8),
    ("resnet18 paper (32x32, m=2^16)", "resnet18", "batch", 64, 32, 3, 65536, 64, 3),
]


def peak_flops(dtype, seconds=1.0) -> float:
    """The best rate of a few dense kernels in `dtype`: square matmuls (1024, 2048) and a 3x3
    convolution of the small nets' shape (channels_last), each timed for about `seconds`."""
    import torch.nn.functional as F

    def rate(fn, flops):
        fn()
        reps, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            fn()
            reps += 1
        return flops * reps / (time.perf_counter() - t)

    best = 0.0
    for n in (1024, 2048):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        best = max(best, rate(lambda: a @ b, 2 * n ** 3))
    x = torch.randn(256, 64, 16, 16, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(64, 64, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
    return max(best, rate(lambda: F.conv2d(x, w, padding=1), 2 * 256 * 64 * 16 * 16 * 64 * 9))


def bf16_hardware() -> str:
    native = cpu_bf16_flags()
    return ", ".join(native) if native else "none (no avx512_bf16 or amx_bf16: bf16 is emulated in fp32 units)"


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
    peak32, peak16 = peak_flops(torch.float32), peak_flops(torch.bfloat16)
    lines = [f"Peak measured in this run (best of 1024/2048 square matmuls and a 64-channel 3x3 convolution): "
             f"fp32 {peak32 / 1e9:.0f} GFLOP/s, bf16 {peak16 / 1e9:.0f} GFLOP/s ({peak16 / peak32:.2f}x). "
             f"Native bf16 on this CPU: {bf16_hardware()}. FLOPs are counted by torch's FlopCounterMode "
             "(convolutions and matmuls, forward and backward).", "",
             "| case | variant | images/s | vs fp32 channels_last | GFLOP/s | % of fp32 peak | % of bf16 peak "
             "| peak RSS (MB) |", "|---|---|---|---|---|---|---|---|"]
    for name, arch, norm, width, side, ch, m, batch, steps in CASES:
        base = None
        for variant, cl, bf16 in (("fp32 channels_last", True, False), ("fp32 NCHW", False, False),
                                  ("bf16 autocast channels_last", True, True)):
            r = run_case(dict(arch=arch, norm=norm, width=width, side=side, ch=ch, out_dim=m, batch=batch,
                              steps=steps, channels_last=cl, bf16=bf16))
            base = base or r["img_s"]
            of_bf16 = f"{100 * r['flop_s'] / peak16:.1f}%" if bf16 else "-"
            lines.append(f"| {name} | {variant} | {r['img_s']:.0f} | {r['img_s'] / base:.2f}x | "
                         f"{r['flop_s'] / 1e9:.1f} | {100 * r['flop_s'] / peak32:.1f}% | {of_bf16} | "
                         f"{r['peak_rss_mb']:.0f} |")
    return lines


if __name__ == "__main__":
    print(json.dumps(measure(**json.loads(sys.argv[1]))))
