"""The Slurm path of the executor, exercised through submitit's local executor."""
import json

import pytest

from conftest import tiny_cfg
from rtdlib import executor
from rtdlib.store import Store


def test_slurm_executor_fills_the_same_store(tmp_path, monkeypatch):
    (tmp_path / "cluster.json").write_text(json.dumps({"cluster": "local", "timeout_min": 10}))
    monkeypatch.setenv("RTD_CLUSTER_CONFIG", str(tmp_path / "cluster.json"))
    monkeypatch.setenv("RTD_EXECUTOR", "slurm")
    cfgs = [tiny_cfg(epochs=1, probe_epochs=(1,), seed=s) for s in (0, 1)]
    remote = executor.run_all("distill", cfgs, Store(tmp_path / "a"))
    assert list((tmp_path / "a" / ".submitit").iterdir())  # submitit's job folders: it really ran there
    monkeypatch.setenv("RTD_EXECUTOR", "local")
    local = executor.run_all("distill", cfgs, Store(tmp_path / "b"), workers=1)
    assert [r.hash for r in remote] == [r.hash for r in local]
    assert [r.metrics for r in remote] == [r.metrics for r in local]


def test_cluster_settings_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("RTD_EXECUTOR", "pbs")
    with pytest.raises(ValueError, match="RTD_EXECUTOR = 'pbs' is unknown; allowed: local, slurm"):
        executor.executor_name()
    monkeypatch.setenv("RTD_CLUSTER_CONFIG", str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match="no cluster settings at .*missing.json"):
        executor.cluster_settings()
    (tmp_path / "bad.json").write_text(json.dumps({"slurm_partiton": "gpu"}))
    monkeypatch.setenv("RTD_CLUSTER_CONFIG", str(tmp_path / "bad.json"))
    with pytest.raises(ValueError, match=r"unknown cluster setting\(s\) \['slurm_partiton'\]"):
        executor.cluster_settings()


def test_relative_cluster_config_is_read_from_the_project_root(tmp_path, monkeypatch):
    """The kernel runs in notebooks/, yet `cp cluster.example.json cluster.json` at the root must work."""
    (tmp_path / "cluster.json").write_text(json.dumps({"cluster": "local", "slurm_partition": "gpu"}))
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.setenv("RTD_ROOT", str(tmp_path))
    monkeypatch.delenv("RTD_CLUSTER_CONFIG", raising=False)
    assert executor.cluster_settings()["slurm_partition"] == "gpu"
    monkeypatch.setenv("RTD_CLUSTER_CONFIG", "cluster.json")
    assert executor.cluster_settings()["cluster"] == "local"
