"""One executor for sweeps: worker processes and the sequential path give the same store entries."""
import json
import math
import os

import pytest
import torch

from conftest import tiny_cfg
from rtdlib import executor
from rtdlib.store import Store

CFGS = [tiny_cfg(epochs=1, probe_epochs=(1,), seed=s) for s in (0, 1)]


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_parallel_and_sequential_give_identical_metrics(tmp_path, one_thread):
    """Same thread count (1) in this process and in the workers: bit-identical entries."""
    seq = executor.run_all("distill", CFGS, Store(tmp_path / "seq"), workers=1)
    par = executor.run_all("distill", CFGS + CFGS[:1], Store(tmp_path / "par"), workers=2)
    assert [r.hash for r in par] == [r.hash for r in seq] + [seq[0].hash]  # order kept, duplicates computed once
    assert "1 threads" in par[0].meta["device"]
    for a, b in zip(seq, par):
        assert a.metrics == b.metrics


def test_two_threads_differ_from_one_only_by_rounding(tmp_path):
    """PyTorch's CPU kernels reduce in a thread-count-dependent order: a two-threaded sequential run
    and a one-threaded worker agree to rounding, not bit for bit (measured: ~1e-6 relative after 4 steps)."""
    torch.set_num_threads(2)
    seq = executor.run_all("distill", CFGS[:1], Store(tmp_path / "seq"), workers=1)[0]
    par = executor.run_all("distill", CFGS, Store(tmp_path / "par"), workers=2)[0]
    for a, b in zip(seq.metrics["history"], par.metrics["history"]):
        assert all(math.isclose(a[k], b[k], rel_tol=1e-4, abs_tol=1e-9) for k in a)
    assert seq.metrics["init"] == par.metrics["init"]


def test_only_missing_entries_are_computed(tmp_path):
    store = Store(tmp_path)
    done = executor.run_all("distill", CFGS[:1], store, workers=1)[0]
    stamp = (done.path / "meta.json").read_text()
    out = executor.run_all("distill", CFGS, store, workers=2)
    assert (done.path / "meta.json").read_text() == stamp and out[0].metrics == done.metrics
    assert json.loads((out[1].path / "config.json").read_text())["seed"] == 1


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_worker_count_is_rejected(monkeypatch, value):
    monkeypatch.setenv("RTD_WORKERS", value)
    with pytest.raises(ValueError, match="RTD_WORKERS"):
        executor.default_workers()
    with pytest.raises(ValueError, match="workers = 0"):
        executor.run_all("distill", CFGS, workers=0)


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown result kind 'nope'"):
        executor.run_all("nope", CFGS)


POOL_CHILD = """
import multiprocessing, os, time
from concurrent.futures import ProcessPoolExecutor
from rtdlib.executor import _init_worker
pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker)
print(pool.submit(os.getpid).result(), flush=True)
pool.submit(time.sleep, 120)
time.sleep(120)
"""


def test_pool_workers_die_with_the_process_that_started_them():
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    def alive():
        try:
            return Path(f"/proc/{worker}/stat").read_text().split(") ")[1][0] != "Z"
        except (OSError, IndexError):
            return False

    parent = subprocess.Popen([sys.executable, "-c", POOL_CHILD], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 20
    while alive() and time.time() < deadline:
        time.sleep(0.1)
    assert not alive(), "a pool worker outlived the killed process that started it"


def test_a_lone_missing_entry_is_still_computed_by_a_one_thread_worker(tmp_path):
    """Its numbers must not depend on how many other entries were missing: with workers > 1 even one
    entry goes to the pool, not to this two-threaded process."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        (r,) = executor.run_all("distill", CFGS[:1], Store(tmp_path), workers=2)
    finally:
        torch.set_num_threads(before)
    assert "1 threads" in r.meta["device"]


@pytest.mark.parametrize("device, count, expected", [("cuda", 4, [0, 1, 2, 3]), ("cuda:1", 4, [1]), ("cpu", 4, [])])
def test_one_worker_per_gpu_in_use(monkeypatch, device, count, expected):
    import torch

    import rtdlib.config
    monkeypatch.delenv("RTD_WORKERS", raising=False)
    monkeypatch.setattr(rtdlib.config, "default_device", lambda: device)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    assert executor.gpus() == expected
    assert executor.default_workers() == (len(expected) or os.cpu_count())
    monkeypatch.setenv("RTD_WORKERS", "3")
    assert executor.default_workers() == 3
