"""`make figures` from scratch vs with a full store: wall time and peak memory, side by side.

Each case runs `python -m rtdlib figures` in a fresh process tree, into a temporary results store and a
temporary figures folder (the committed figures are not touched): first cold (every entry computed),
then again on the full store (nothing changed: every notebook is skipped as up to date), then with
--force (every notebook re-executed, every entry read back from the store). Peak memory is the
largest resident set among the processes of the tree (the runner, its kernels and workers).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CASES = [("smoke", None), ("quick", ["10_restart"])]  # all smoke notebooks; one real quick notebook

# run one command, then report its wall time and the peak RSS of the whole process tree it waited for
WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(json.loads(sys.argv[1]), check=True, stdout=subprocess.DEVNULL)
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def timed(cmd, env) -> dict:
    out = subprocess.run([sys.executable, "-c", WRAPPER, json.dumps(cmd)], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table() -> list[str]:
    lines = ["| profile | notebooks | from scratch (s) | full store, up to date (s) | full store, --force (s) "
             "| --force / scratch | peak RSS scratch / up to date / --force (MB) |", "|---|---|---|---|---|---|---|"]
    for profile, only in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            # nothing of this checkout is read or written: no published entries, no build/ or figures/
            env = os.environ | {"RTD_RESULTS": f"{tmp}/results", "RTD_FIGURES": f"{tmp}/figures",
                                "RTD_BUILD": f"{tmp}/build", "RTD_PUBLISHED": ""}
            cmd = [sys.executable, "-m", "rtdlib", "figures", "--profile", profile] + (["--only", *only] if only else [])
            cold, skipped, forced = timed(cmd, env), timed(cmd, env), timed(cmd + ["--force"], env)
        lines.append(f"| {profile} | {', '.join(only) if only else 'all'} | {cold['seconds']:.0f} | "
                     f"{skipped['seconds']:.1f} | {forced['seconds']:.0f} | {forced['seconds'] / cold['seconds']:.2f} | "
                     f"{cold['peak_rss_mb']:.0f} / {skipped['peak_rss_mb']:.0f} / {forced['peak_rss_mb']:.0f} |")
    return lines


if __name__ == "__main__":
    print("\n".join(table()))
