"""Faults: SIGKILL at random moments, two concurrent `make figures`, and the store stays sound.

Each run uses its own root (figures/, build/) and results store; the notebooks and the Makefile
come from this checkout. Numbers are compared through the tables the notebooks save and through
every store entry's metrics.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from rtdlib.store import MARKER, Store

ROOT = Path(__file__).resolve().parent.parent
# 05 trains its endpoints (2 epochs), evaluates landscape grids (checkpointed every 2 points), saves 15 files
NOTEBOOKS = os.environ.get("RTD_FAULT_NOTEBOOKS", "05_landscapes")
TIMING_KEYS = {"eval_seconds", "seconds_per_point"}  # wall-clock measurements inside metrics
# one xdist worker runs them all, so the module's clean run is computed once
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]


def make_figures(root: Path, results: Path, tag: str = "", **popen):
    """Start `make figures PROFILE=smoke` for the fault notebooks; every process it starts (make,
    python, papermill, the kernel in its own session, the kernel's worker pool) inherits `tag`."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "notebooks").exists():
        (root / "notebooks").symlink_to(ROOT / "notebooks")
    env = {**os.environ, "RTD_ROOT": str(root), "RTD_RESULTS": str(results), "RTD_PROGRESS": "0",
           "RTD_FAULT_TAG": tag}
    return subprocess.Popen(["make", "-s", "-C", str(ROOT), "figures", "PROFILE=smoke", f"ONLY={NOTEBOOKS}"],
                            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)


def tagged(tag: str) -> list[int]:
    """Pids of the live processes whose environment carries RTD_FAULT_TAG=tag."""
    needle = f"RTD_FAULT_TAG={tag}".encode()
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if needle in (p / "environ").read_bytes().split(b"\0"):
                    pids.append(int(p.name))
            except OSError:
                pass  # gone, or a zombie
    return pids


def kill_everything(tag: str) -> int:
    """SIGKILL every tagged process, as a crash or an OOM kill of the whole job would. Returns how many."""
    killed = set()
    for _ in range(50):  # a process may start while we kill the others
        pids = tagged(tag)
        if not pids:
            return len(killed)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"processes tagged {tag} survive SIGKILL: {tagged(tag)}")


def finish(proc, timeout=600):
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def tables(root: Path) -> dict:
    return {p.name: p.read_text() for p in sorted((root / "figures" / "smoke").glob("*.csv"))}


def metrics(results: Path) -> dict:
    """Every finished entry's metrics, without the wall-clock measurements, by kind/hash."""
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
        return [strip(v) for v in obj] if isinstance(obj, list) else obj
    return {f"{m.parent.parent.name}/{m.parent.name}": strip(json.loads((m.parent / "metrics.json").read_text()))
            for m in results.glob(f"*/*/{MARKER}")}


def entries_sound(results: Path) -> int:
    """Every finished entry verifies; no finished entry keeps temporary files or checkpoints. Returns
    the finished count."""
    done = 0
    for marker in results.glob(f"*/*/{MARKER}"):
        listing = json.loads(marker.read_text())
        kind, path = marker.parent.parent.name, marker.parent
        assert Store(results).intact(kind, path.name), f"damaged entry {path}"
        assert set(listing) >= {"config.json", "metrics.json", "meta.json"}
        assert not list(path.glob(".*.tmp")) and not list(path.glob("ckpt-*"))
        done += 1
    return done


# moments to kill at, in the order they come in the notebook: the first file that shows the phase
# is under way, then a random delay (s); each rerun resumes the work its predecessor left
PHASES = {
    "training": ("distill/*/ckpt-*.pt", 0.5),  # a distillation has checkpointed an epoch
    "landscape grid": ("landscape/*/ckpt-*.pt", 0.1),  # part of a grid is evaluated
    "plotting": ("figures/.staging-*/*.png", 0.05),  # the notebook has saved its first figure
}


def wait_for(pattern: str, root: Path, results: Path, proc, timeout=300) -> bool:
    base = root if pattern.startswith("figures/") else results
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if next(base.glob(pattern), None):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("clean")
    finish(make_figures(base / "root", base / "results"))
    return tables(base / "root"), metrics(base / "results"), entries_sound(base / "results")


def test_sigkill_at_random_moments_then_rerun_gives_identical_numbers(clean_run, tmp_path):
    clean_tables, clean_metrics, n_entries = clean_run
    assert clean_tables and n_entries > 0
    assert {k.split("/")[0] for k in clean_metrics} >= {"distill", "landscape"}
    rng = random.Random(int(os.environ.get("RTD_FAULT_SEED", "0")))
    root, results = tmp_path / "root", tmp_path / "results"
    for phase, (pattern, jitter) in PHASES.items():
        tag = uuid.uuid4().hex
        proc = make_figures(root, results, tag)
        reached = wait_for(pattern, root, results, proc)
        assert reached, f"the run ended before the {phase} phase ({pattern}): {proc.communicate()[0]}"
        time.sleep(rng.uniform(0, jitter))
        assert kill_everything(tag) >= 3  # make, the runner and the kernel at least
        proc.wait()
        entries_sound(results)
    finish(make_figures(root, results))
    assert tables(root) == clean_tables
    assert metrics(results) == clean_metrics  # every entry, bit for bit, not only the saved tables
    assert entries_sound(results) == n_entries
    assert not list((root / "figures").glob(".staging-*"))


def test_two_concurrent_runs_compute_each_entry_once(clean_run, tmp_path):
    clean_tables, clean_metrics, n_entries = clean_run
    results = tmp_path / "results"
    a, b = make_figures(tmp_path / "a", results), make_figures(tmp_path / "b", results)
    finish(a), finish(b)
    assert tables(tmp_path / "a") == tables(tmp_path / "b") == clean_tables
    assert metrics(results) == clean_metrics
    assert entries_sound(results) == n_entries
    computed = [json.loads((tmp_path / r / "figures" / "smoke" / ".runs" / f"{nb}.json").read_text())["computed"]
                for r in ("a", "b") for nb in NOTEBOOKS.split()]
    flat = [h for c in computed for h in c]
    assert len(flat) == len(set(flat)) == n_entries  # every entry computed by exactly one of the two runs


def test_ctrl_c_prints_one_line_exits_130_and_leaves_only_the_store_behind(tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) while `run` computes: one line counting the stored
    runs, exit 130, no executed or failed notebook, no staging folder, no process left running."""
    root, results, tag = tmp_path / "root", tmp_path / "results", f"ctrl-c-{uuid.uuid4().hex}"
    root.mkdir()
    (root / "notebooks").symlink_to(ROOT / "notebooks")
    env = {**os.environ, "RTD_ROOT": str(root), "RTD_RESULTS": str(results), "RTD_PROGRESS": "0",
           "RTD_FAULT_TAG": tag, "PYTHONPATH": str(ROOT)}
    run = subprocess.Popen([sys.executable, "-m", "rtdlib", "run", "01_student_vs_teacher", "--profile", "smoke"],
                           env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not list(results.glob("distill/*/")) and time.time() < deadline:  # runs are being computed
        time.sleep(0.2)
    time.sleep(2)
    os.killpg(run.pid, signal.SIGINT)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 130, err
    stored = len(list(results.glob(f"distill/*/{MARKER}")))
    assert err.splitlines() == [f"interrupted; {stored} of 4 runs stored, rerun to resume"]
    assert [p.name for p in (root / "build" / "smoke").iterdir()] == []  # neither .running nor .failed
    assert not list((root / "figures").glob("*"))  # no staging folder, no figure folder
    deadline = time.time() + 30
    while tagged(tag) and time.time() < deadline:  # the kernel and its workers end with the run
        time.sleep(0.5)
    assert tagged(tag) == []
