import json
import multiprocessing as mp
import os
import time
import warnings
from pathlib import Path

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


def test_a_killed_writers_temporary_files_do_not_outlive_the_recomputed_entry(store):
    cfg = DataCfg("digits", train_size=12)
    path = store.path("demo", cfg)
    path.mkdir(parents=True)
    (path / ".config.json.abc123.tmp").write_text('{"half": ')  # killed between write and rename
    r = store.get_or_run("demo", cfg, compute)
    assert not list(path.glob(".*")) and store.intact("demo", r.hash)


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


def test_complete_entry_without_its_marker_is_recomputed_with_a_warning(store):
    cfg = DataCfg("digits", train_size=6)
    r = store.get_or_run("demo", cfg, compute)
    (r.path / MARKER).unlink()
    assert store.get("demo", cfg) is None  # not finished as far as anyone can prove
    with pytest.warns(DamagedEntryWarning, match=r"incomplete store entry .*no COMPLETE marker"):
        r2 = store.get_or_run("demo", cfg, compute)
    assert r2.metrics == {"value": 12} and (r2.path / MARKER).exists()


def test_damaged_entry_is_removed_only_under_its_lock(store):
    """A process recomputing an entry holds its lock; a reader that finds the old copy damaged waits
    for it instead of deleting files under the writer's feet."""
    import fcntl
    import threading
    cfg = DataCfg("digits", train_size=4)
    r = store.get_or_run("demo", cfg, compute)
    (r.path / "metrics.json").write_text("{garbage")
    fd = os.open(r.path.parent / f"{r.path.name}.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    got = []
    with pytest.warns(DamagedEntryWarning):
        reader = threading.Thread(target=lambda: got.append(store.get("demo", cfg)))
        reader.start()
        time.sleep(0.5)
        assert reader.is_alive() and (r.path / "weights.pt").exists()  # waiting, nothing removed
        os.close(fd)  # releases the lock
        reader.join(10)
    assert got == [None] and not r.path.exists()


READ_ONLY_CHILD = """
import sys
from rtdlib.config import DataCfg
from rtdlib.store import Store, StoreError
try:
    Store(sys.argv[1]).get_or_run("demo", DataCfg("digits"), lambda c, r: {"x": 1})
except StoreError as e:
    print(e)
    sys.exit(3)
"""


def without_permission_override():
    """In the child before exec: drop the capabilities that let root ignore file permissions
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from its bounding set, so a 0555 folder is read-only."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0):  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_read_only_results_directory_gives_a_clear_error(tmp_path):
    import subprocess
    import sys
    ro = tmp_path / "results"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = subprocess.run([sys.executable, "-c", READ_ONLY_CHILD, str(ro)], capture_output=True, text=True,
                           timeout=120, preexec_fn=without_permission_override if os.geteuid() == 0 else None)
    except subprocess.SubprocessError as e:  # root without CAP_SETPCAP cannot give up the override
        pytest.skip(f"cannot drop root's permission override here ({e})")
    assert r.returncode == 3, r.stderr
    assert "cannot" in r.stdout and str(ro) in r.stdout and "Permission denied" in r.stdout
    assert not list(ro.iterdir())


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs: a really full disk (needs the right to mount, e.g. root)."""
    import subprocess
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here; test_failing_write_leaves_no_partial_file simulates it")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_full_disk_gives_a_clear_error_and_no_partial_entry(tiny_disk):
    store = Store(tiny_disk / "results")
    cfg = DataCfg("digits", train_size=10)

    def big(c, run):
        run.save("weights", {"w": torch.zeros(1 << 17)})  # 512 KiB
        return {"value": 1}

    with pytest.raises(StoreError, match=r"cannot write .*weights\.pt: No space left on device"):
        store.get_or_run("demo", cfg, big)
    path = store.path("demo", cfg)
    assert not list(path.glob(".*tmp")) and not (path / MARKER).exists() and store.get("demo", cfg) is None


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


def published_copy(result, layer):
    """result's entry as published (rtdlib.publish): config, metrics and meta only."""
    from rtdlib.publish import write_entry
    target = layer / result.kind / result.hash
    write_entry(result, target)
    return target


def test_published_entry_is_read_behind_results_and_an_omitted_artifact_recomputes_it(tmp_path):
    from rtdlib.store import PUBLISHED
    cfg = DataCfg("digits", train_size=9)
    full = Store(tmp_path / "full", published=[]).get_or_run("demo", cfg, compute)
    layer = tmp_path / "published" / "smoke"
    target = published_copy(full, layer)
    assert {p.name for p in target.iterdir()} == {"config.json", "metrics.json", "meta.json", PUBLISHED}
    assert json.loads((target / PUBLISHED).read_text())["omitted"] == {"weights.pt": json.loads(
        (full.path / MARKER).read_text())["weights.pt"]}
    store, calls = Store(tmp_path / "results", published=[layer]), []
    fn = lambda c, r: calls.append(1) or compute(c, r)  # noqa: E731
    r = store.get_or_run("demo", cfg, fn)
    assert calls == [] and r.path == target and r.metrics == full.metrics and store.intact("demo", r.hash)
    assert not (tmp_path / "results" / "demo").exists()  # nothing computed, nothing written
    assert torch.equal(r.load("weights")["w"], torch.arange(4.0))  # not kept: computed into results/
    assert calls == [1] and (store.path("demo", cfg) / MARKER).exists()
    assert store.get_or_run("demo", cfg, fn).path == store.path("demo", cfg)  # results/ wins from now on
    assert calls == [1] and (target / PUBLISHED).exists()  # the published entry is left as it was


def test_damaged_published_entry_is_ignored_with_a_warning_and_never_removed(tmp_path):
    cfg = DataCfg("digits", train_size=10)
    full = Store(tmp_path / "full", published=[]).get_or_run("demo", cfg, compute)
    layer = tmp_path / "published" / "quick"
    target = published_copy(full, layer)
    (target / "metrics.json").write_text('{"value": 21}\n')  # hand-edited without its checksum
    store = Store(tmp_path / "results", published=[layer])
    with pytest.warns(DamagedEntryWarning, match="damaged published entry .*metrics.json does not match"):
        assert store.get_or_run("demo", cfg, compute).metrics == {"value": 20}  # recomputed into results/
    assert (target / "metrics.json").read_text() == '{"value": 21}\n'


def test_published_layers_come_from_rtd_published(tmp_path, monkeypatch):
    from rtdlib.store import published_layers
    (tmp_path / "quick").mkdir()
    (tmp_path / ".smoke.tmp").mkdir()
    monkeypatch.setenv("RTD_PUBLISHED", str(tmp_path))
    assert published_layers() == [tmp_path / "quick"] and Store(tmp_path / "r").layers == [tmp_path / "quick"]
    monkeypatch.setenv("RTD_PUBLISHED", "")  # `make reproduce`: no published layer
    assert published_layers() == [] and Store(tmp_path / "r").layers == []


def test_meta_records_threads_and_cpu_capability(store):
    r = store.get_or_run("demo", DataCfg("digits", train_size=11), compute)
    assert r.meta["threads"] == torch.get_num_threads() and r.meta["cpu_capability"]


def test_an_omitted_artifact_is_recomputed_with_the_published_thread_count(tmp_path):
    from rtdlib.store import using_threads
    cfg, seen = DataCfg("digits", train_size=13), []
    fn = lambda c, r: seen.append(torch.get_num_threads()) or compute(c, r)  # noqa: E731
    with using_threads(1):
        full = Store(tmp_path / "full", published=[]).get_or_run("demo", cfg, fn)
    layer = tmp_path / "published" / "smoke"
    published_copy(full, layer)
    with using_threads(2):
        Store(tmp_path / "results", published=[layer]).get_or_run("demo", cfg, fn).load("weights")
        assert torch.get_num_threads() == 2
    assert seen == [1, 1] and full.meta["threads"] == 1


@pytest.mark.parametrize("dies_at", ["weights.pt", "config.json", "metrics.json", "meta.json"])
def test_a_writer_killed_before_a_listed_file_exists_leaves_no_marker(store, monkeypatch, dies_at):
    """The completion marker comes after every file it lists: a writer killed as it is about to put any
    of them in place leaves an entry that reads as unfinished, and the rerun completes it."""
    import rtdlib.store as st
    cfg = DataCfg("digits", train_size=13)
    real_replace = os.replace

    def killed(src, dst):
        if Path(dst).name == dies_at:
            raise KeyboardInterrupt(f"killed before {dies_at} was in place")
        real_replace(src, dst)

    monkeypatch.setattr(st.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.get_or_run("demo", cfg, compute)
    monkeypatch.undo()
    path = store.path("demo", cfg)
    assert not (path / MARKER).exists() and store.get("demo", cfg) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedEntryWarning)  # the files written before the kill
        assert store.get_or_run("demo", cfg, compute).metrics == {"value": 26}


def test_interrupted_write_keeps_the_previous_file_whole(tmp_path, monkeypatch):
    """A write interrupted before it is on disk leaves the target as it was (old content, or no file at
    all): never a truncated or half-new file under the final name."""
    import rtdlib.store as st
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_bytes(b'{"version": 1}\n')

    def interrupted(fd):
        raise KeyboardInterrupt("killed before fsync")

    monkeypatch.setattr(st.os, "fsync", interrupted)
    for target in (old, new):
        with pytest.raises(KeyboardInterrupt):
            st.atomic_write(target, b'{"version": 2, "padding": "' + b"x" * 100_000 + b'"}\n')
    monkeypatch.undo()
    assert old.read_bytes() == b'{"version": 1}\n' and not new.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["old.json"]  # no temporary file either
