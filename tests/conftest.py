import os

import numpy as np
import pytest
import torch

from rtdlib.config import DataCfg, DistillCfg, ModelCfg, ProbeCfg

# OMP_NUM_THREADS=1 when another process holds a core: two threads then wait on each other many times over.
# Under pytest-xdist (`make test`: one worker per core) every worker and what it starts (kernels, `python -m
# rtdlib`) takes one thread unless told otherwise.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or min(2, os.cpu_count() or 1)))
# tests compute what they check: the repository's published results must never stand in for an entry
# (tests that exercise the published layer set RTD_PUBLISHED themselves)
os.environ["RTD_PUBLISHED"] = ""
TINY_MODEL = ModelCfg("small_vgg", "batch", width=4, out_dim=64, hidden_dim=32, bottleneck_dim=16)


@pytest.fixture(autouse=True)
def fresh_probe_memo():
    """Every test starts without the probes an earlier test's runs left in the worker's memo."""
    from rtdlib import distill
    distill.CONSTANT_PROBES.clear()


@pytest.fixture(autouse=True)
def fresh_datasets_under_mutmut():
    """Under mutmut (MUTANT_UNDER_TEST set) every test loads its datasets itself: mutmut runs a mutant against the
    tests that called its function in its first pass, and a dataset an earlier test left in the process's cache
    would hide the loaders from every later test."""
    if "MUTANT_UNDER_TEST" in os.environ:
        from rtdlib import data
        data._load.cache_clear()


def stripes(path, n_train=256, n_test=128, seed=0):
    """A task tiny nets learn in seconds, written as a .npz dataset: 8x8 images of 4 textures (horizontal
    stripes, vertical stripes, checkerboard, flat grey) under uniform noise; shifts and mirror images (the
    supervised augmentation) keep every texture's class."""
    rng = np.random.default_rng(seed)
    r, c = np.indices((8, 8))
    textures = np.stack([r % 2, c % 2, (r + c) % 2, np.full((8, 8), 0.5)]) * 200
    y = np.arange(n_train + n_test) % 4
    x = (textures[y] + rng.uniform(0, 55, (len(y), 8, 8))).round().astype(np.uint8)
    np.savez(path, x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:], y_test=y[n_train:])
    return DataCfg(path)


@pytest.fixture(scope="session")
def stripes_data(tmp_path_factory):
    return stripes(tmp_path_factory.mktemp("stripes") / "stripes.npz")


def tiny_cfg(**kw) -> DistillCfg:
    base = dict(data=DataCfg("digits", train_size=256, test_size=128), model=TINY_MODEL, epochs=2,
                batch_size=64, probe_epochs=(0, 2), probe=ProbeCfg(linear_steps=20), seed=0)
    base.update(kw)
    return DistillCfg(**base)


def one_training_step(cfg: ModelCfg):
    """One distillation step of a fresh student on its teacher, 2 random 32x32 images.

    Returns (student, parameters before the step, loss, input batch).
    """
    from rtdlib import models
    from rtdlib.distill import distill_loss
    t, s = models.build(cfg, 3, seed=0).eval(), models.build(cfg, 3, seed=1)
    x = torch.randn(2, 3, 32, 32)
    opt = torch.optim.AdamW(s.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in s.parameters()]
    loss = distill_loss(s(x), t(x).detach())[0]
    loss.backward()
    opt.step()
    return s, before, loss, x


@pytest.fixture
def store(tmp_path):
    from rtdlib.store import Store
    return Store(tmp_path / "results")


@pytest.fixture
def default_store(tmp_path, monkeypatch):
    """An empty folder as the default store (RTD_RESULTS): a run given its own store must leave it empty."""
    folder = tmp_path / "default-store"
    folder.mkdir()
    monkeypatch.setenv("RTD_RESULTS", str(folder))
    return folder


def killed_then_resumed(root, kind, cfg, fn, monkeypatch, kill_epoch):
    """Run `fn` in a fresh store, kill it once right after the checkpoint of `kill_epoch`, rerun it.

    Returns (resumed result, epochs checkpointed in both runs): kill_epoch + the remaining epochs
    when the rerun resumed, more when it started over.
    """
    from rtdlib import store as st
    original, calls = st.Run.checkpoint, {"n": 0, "killed": False}

    def dying_checkpoint(self, state):
        original(self, state)
        calls["n"] += 1
        if state["epoch"] == kill_epoch and not calls["killed"]:
            calls["killed"] = True
            raise KeyboardInterrupt(f"simulated kill after epoch {kill_epoch}")

    store = st.Store(root)
    monkeypatch.setattr(st.Run, "checkpoint", dying_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        store.get_or_run(kind, cfg, fn)
    return store.get_or_run(kind, cfg, fn), calls["n"]
