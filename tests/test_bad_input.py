"""The bad-input table (tests/bad_inputs.json): each case is one clear line, exit 2, nothing written.

Add a case by adding a row: {"id", "cmd" (python -m rtdlib arguments) or "make" (make arguments),
"expect" (a substring of the one error line)}.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "bad_inputs.json").read_text())


def snapshot(*dirs):
    """Every file and its mtime, except empty lock files."""
    return sorted((str(p), p.stat().st_mtime_ns) for d in dirs if d.exists() for p in d.rglob("*")
                  if p.is_file() and p.suffix != ".lock")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, tmp_path):
    root = tmp_path / "root"  # figures/ and build/ of this run (the notebooks are this checkout's)
    root.mkdir()
    (root / "notebooks").symlink_to(ROOT / "notebooks")
    env = {**os.environ, "RTD_ROOT": str(root), "RTD_RESULTS": str(tmp_path / "results"),
           "RTD_DATA": str(tmp_path / "data"), "RTD_PROGRESS": "0"}
    if "make" in case:
        argv = ["make", "--no-print-directory", "-s", *case["make"]]
    else:
        argv = [sys.executable, "-m", "rtdlib", *case["cmd"]]
        if "--profile" not in case["cmd"] and case["cmd"][0] == "run":
            argv += ["--profile", "smoke"]
    # outputs of this run (build/ keeps a failed notebook's log) and the committed figures
    watched = (root / "figures", tmp_path / "results", ROOT / "figures" / "quick")
    before = snapshot(*watched)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert r.returncode != 0
    ours = [line for line in r.stderr.strip().splitlines() if not line.startswith("make")]
    assert len(ours) == 1, r.stderr
    assert case["expect"] in ours[0], ours[0]
    assert snapshot(*watched) == before
    assert not list(root.glob("figures/.staging-*"))  # no staging folder left behind
