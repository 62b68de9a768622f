"""Peer groups: batched (torch.func stack_module_state + vmap) vs a plain loop over the K networks.

One training step of the whole group (forward of all K, consensus loss, backward, AdamW), on the quick
profile's network and the paper profile's ResNet18. Each case runs in a fresh subprocess so its peak
RSS is its own; all cases run side by side in one invocation so the ratios compare like with like.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import torch

CASES = [  # name, ModelCfg kwargs, image side, in channels, batch, timed steps, group sizes
    ("quick: small_vgg w8 BN, 16x16, m=256, batch 32",
     dict(arch="small_vgg", norm="batch", width=8, out_dim=256, hidden_dim=256, bottleneck_dim=64), 16, 1, 32, 10,
     (2, 4, 8)),
    ("paper: resnet18 BN, 32x32, m=2^16, batch 32",
     dict(arch="resnet18", norm="batch", width=64, out_dim=65536), 32, 3, 32, 2, (2, 4)),
]


def measure(model, side, ch, batch, steps, k, path, rule="mean", loss="ce") -> dict:
    from rtdlib.config import ModelCfg
    from rtdlib.peers import PeersCfg, draw_roles, role_generator, setup, step
    cfg = PeersCfg(model=ModelCfg(**model), k=k, rule=rule, loss=loss, path=path)
    group, anchors, opt, _ = setup(cfg, ch, "cpu")
    gen = role_generator(cfg)
    x = torch.randn(batch, ch, side, side)

    def one():
        step(group, anchors, x, cfg, opt, draw_roles(k, gen) if rule == "random_roles" else None)

    one()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        one()
    dt = (time.perf_counter() - t) / steps
    return {"steps_s": 1 / dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_case(args: dict) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.peers", json.dumps(args)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table() -> list[str]:
    lines = ["Group steps/s (all K networks updated once), mean rule, CE loss, consensus weight 1.", "",
             "| case | K | loop steps/s | batched steps/s | batched / loop | loop peak RSS (MB) | batched peak RSS (MB) |",
             "|---|---|---|---|---|---|---|"]
    for name, model, side, ch, batch, steps, ks in CASES:
        for k in ks:
            r = {path: run_case(dict(model=model, side=side, ch=ch, batch=batch, steps=steps, k=k, path=path))
                 for path in ("loop", "batched")}
            lines.append(f"| {name} | {k} | {r['loop']['steps_s']:.2f} | {r['batched']['steps_s']:.2f} | "
                         f"{r['batched']['steps_s'] / r['loop']['steps_s']:.2f}x | {r['loop']['peak_rss_mb']:.0f} | "
                         f"{r['batched']['peak_rss_mb']:.0f} |")
    return lines


if __name__ == "__main__":
    print(json.dumps(measure(**json.loads(sys.argv[1]))))
