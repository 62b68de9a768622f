"""Faults: SIGKILL at random moments, two concurrent `make figures`, and the store stays sound.

Each run uses its own root (figures/, build/) and results store; the notebooks and the Makefile
come from this checkout. Numbers are compared through the tables the notebooks save.
"""
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rtdlib.store import MARKER, Store

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = os.environ.get("RTD_FAULT_NOTEBOOKS", "01_student_vs_teacher")
pytestmark = pytest.mark.faults


def make_figures(root: Path, results: Path, **popen):
    """Start `make figures PROFILE=smoke` for the fault notebooks in its own process group."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "notebooks").exists():
        (root / "notebooks").symlink_to(ROOT / "notebooks")
    env = {**os.environ, "RTD_ROOT": str(root), "RTD_RESULTS": str(results), "RTD_PROGRESS": "0"}
    return subprocess.Popen(["make", "-s", "-C", str(ROOT), "figures", "PROFILE=smoke", f"ONLY={NOTEBOOKS}"],
                            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)


def finish(proc, timeout=600):
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def tables(root: Path) -> dict:
    return {p.name: p.read_text() for p in sorted((root / "figures" / "smoke").glob("*.csv"))}


def entries_sound(results: Path) -> int:
    """Every finished entry verifies; unfinished ones hold no marker. Returns the finished count."""
    done = 0
    for marker in results.glob(f"*/*/{MARKER}"):
        listing = json.loads(marker.read_text())
        store = Store(results)
        kind, path = marker.parent.parent.name, marker.parent
        assert store.intact(kind, path.name), f"damaged entry {path}"
        assert set(listing) >= {"config.json", "metrics.json", "meta.json"}
        assert not list(path.glob(".*.tmp")) and not list(path.glob("ckpt-*"))
        done += 1
    return done


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("clean")
    t = time.time()
    finish(make_figures(base / "root", base / "results"))
    return tables(base / "root"), time.time() - t, entries_sound(base / "results")


def test_sigkill_at_random_moments_then_rerun_gives_identical_numbers(clean_run, tmp_path):
    clean_tables, wall, n_entries = clean_run
    assert clean_tables and n_entries > 0
    rng = random.Random(int(os.environ.get("RTD_FAULT_SEED", "0")))
    root, results = tmp_path / "root", tmp_path / "results"
    for moment in sorted(rng.uniform(0.15, 0.9) * wall for _ in range(3)):
        proc = make_figures(root, results)
        time.sleep(moment)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # make, python, papermill and the kernel at once
        proc.wait()
        entries_sound(results)
    finish(make_figures(root, results))
    assert tables(root) == clean_tables
    assert entries_sound(results) == n_entries
    assert not list((root / "figures").glob(".staging-*"))


def test_two_concurrent_runs_compute_each_entry_once(clean_run, tmp_path):
    clean_tables, _, n_entries = clean_run
    results = tmp_path / "results"
    a, b = make_figures(tmp_path / "a", results), make_figures(tmp_path / "b", results)
    finish(a), finish(b)
    assert tables(tmp_path / "a") == tables(tmp_path / "b") == clean_tables
    assert entries_sound(results) == n_entries
    computed = [json.loads((tmp_path / r / "figures" / "smoke" / ".runs" / f"{nb}.json").read_text())["computed"]
                for r in ("a", "b") for nb in NOTEBOOKS.split()]
    flat = [h for c in computed for h in c]
    assert len(flat) == len(set(flat)) == n_entries  # every entry computed by exactly one of the two runs
