"""Write bench/results.md: every measurement of this machine, side by side, in one run."""
import platform
import time
from pathlib import Path

import torch

from bench import breakdown, distill_speed, executor, figures, landscape, peers, precision, probes

SECTIONS = [("Where a quick distillation's time goes", breakdown.table),
            ("Distillation step (teacher forward + student forward/backward + AdamW)", distill_speed.table),
            ("bf16 autocast vs fp32: whole distillation runs and the probe accuracy they give", precision.table),
            ("Linear probes: L-BFGS (default) vs the authors' AdamW probe (paper profiles)", probes.table),
            ("Sweep executor: worker processes vs threads", executor.table),
            ("Landscape grid points, plain loop vs functional_call + vmap", landscape.table),
            ("Peer groups: batched (torch.func vmap) vs loop", peers.table),
            ("`make figures`: from scratch vs full store", figures.table)]


def main():
    started = time.time()
    out = ["# Benchmarks", "",
           f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, {torch.get_num_threads()} threads, "
           f"torch {torch.__version__}. Regenerate with `make bench`.", ""]
    for title, section in SECTIONS:
        print(f"bench: {title} ...", flush=True)
        out += [f"## {title}", "", *section(), ""]
    out.append(f"Total benchmark time: {time.time() - started:.0f} s.")
    path = Path(__file__).resolve().parent / "results.md"
    path.write_text("\n".join(out) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
