"""The same config and seed give bit-identical metrics on CPU, in separate processes."""
import json
import subprocess
import sys

SCRIPT = """
import json, sys, torch
sys.path.insert(0, {tests!r})
from conftest import tiny_cfg
from rtdlib.distill import distill
out = distill(tiny_cfg(epochs=2, probe_epochs=(0, 2)), device="cpu")
print(json.dumps(out))
"""


def test_distill_is_bit_identical_across_processes(tmp_path):
    from pathlib import Path
    code = SCRIPT.format(tests=str(Path(__file__).resolve().parent))
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
            for _ in range(2)]
    a, b = (json.loads(r.stdout.strip().splitlines()[-1]) for r in runs)
    assert a == b  # exact float equality of every loss, distance and probe accuracy
    assert a["history"][-1]["dist_init"] > 0
