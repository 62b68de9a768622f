import json
import multiprocessing as mp
import os
import time

import pytest
import torch

from rtdlib.config import DataCfg
from rtdlib.store import MARKER, DamagedEntryWarning, Store, StoreError


def compute(cfg, run):
    run.save("weights", {"w": torch.arange(4.0)})
    return {"value": cfg.train_size * 2}


def test_entry_is_written_then_reused(store):
    cfg = DataCfg("digits", train_size=3)
    calls = []
    fn = lambda c, r: calls.append(1) or compute(c, r)  # noqa: E731
    r1 = store.get_or_run("demo", cfg, fn)
    r2 = store.get_or_run("demo", cfg, fn)
    assert calls == [1] and r1.metrics == r2.metrics == {"value": 6}
    assert torch.equal(r2.load("weights")["w"], torch.arange(4.0))
    files = {p.name for p in r1.path.iterdir()}
    assert {"config.json", "meta.json", "metrics.json", "weights.pt", MARKER} <= files
    assert not any(n.startswith(".") or n.startswith("ckpt-") for n in files)
    listing = json.loads((r1.path / MARKER).read_text())
    assert set(listing) == {"config.json", "meta.json", "metrics.json", "weights.pt"}
    assert r1.meta["torch"] == torch.__version__ and r1.meta["wall_time_s"] >= 0


@pytest.mark.parametrize("damage", [
    lambda p: (p / "metrics.json").write_text("{garbage"),
    lambda p: (p / "weights.pt").write_bytes((p / "weights.pt").read_bytes()[:20]),
    lambda p: (p / "weights.pt").unlink(),
    lambda p: (p / MARKER).write_text("not json"),
])
def test_damaged_entry_is_detected_and_recomputed(store, damage):
    cfg = DataCfg("digits", train_size=5)
    r = store.get_or_run("demo", cfg, compute)
    damage(r.path)
    with pytest.warns(DamagedEntryWarning, match="damaged store entry"):
        assert store.get("demo", cfg) is None
    r2 = store.get_or_run("demo", cfg, compute)
    assert r2.metrics == {"value": 10} and torch.equal(r2.load("weights")["w"], torch.arange(4.0))


def test_missing_marker_means_not_done_and_failed_run_leaves_no_marker(store):
    cfg = DataCfg("digits", train_size=7)

    def boom(c, run):
        run.checkpoint({"step": 1})
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        store.get_or_run("demo", cfg, boom)
    assert store.get("demo", cfg) is None
    assert not (store.path("demo", cfg) / MARKER).exists()

    def resume(c, run):
        return {"resumed_from": run.resume()["step"]}

    assert store.get_or_run("demo", cfg, resume).metrics == {"resumed_from": 1}
    assert not list(store.path("demo", cfg).glob("ckpt-*"))


def test_damaged_checkpoint_is_discarded(store):
    cfg = DataCfg("digits", train_size=8)
    path = store.path("demo", cfg)
    path.mkdir(parents=True)
    from rtdlib.store import Run
    Run(path).checkpoint({"step": 3})
    ckpt = next(path.glob("ckpt-*.pt"))
    ckpt.write_bytes(ckpt.read_bytes()[:-10])
    with pytest.warns(DamagedEntryWarning, match="damaged checkpoint"):
        assert Run(path).resume() is None


def test_read_only_results_directory_gives_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")  # the failing-write test below covers it
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(StoreError, match="cannot"):
        Store(ro).get_or_run("demo", DataCfg("digits"), compute)


def test_failing_write_leaves_no_partial_file(store, monkeypatch):
    import rtdlib.store as st
    cfg = DataCfg("digits", train_size=9)

    def full_disk(fd, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(st.os, "fsync", full_disk)
    with pytest.raises(StoreError, match="No space left"):
        store.get_or_run("demo", cfg, compute)
    monkeypatch.undo()
    path = store.path("demo", cfg)
    assert not list(path.glob(".*tmp")) and not (path / MARKER).exists()
    assert store.get_or_run("demo", cfg, compute).metrics == {"value": 18}


def _slow_compute(cfg, run):
    with open(os.environ["COUNT_FILE"], "a") as f:
        f.write("x")
    time.sleep(1.0)
    return {"pid": os.getpid()}


def _worker(root, q):
    r = Store(root).get_or_run("demo", DataCfg("digits", train_size=11), _slow_compute)
    q.put(r.metrics["pid"])


def test_two_processes_compute_an_entry_once(tmp_path, monkeypatch):
    monkeypatch.setenv("COUNT_FILE", str(tmp_path / "count"))
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(tmp_path / "res", q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    pids = [q.get(timeout=5) for _ in procs]
    assert (tmp_path / "count").read_text() == "x"
    assert pids[0] == pids[1]
