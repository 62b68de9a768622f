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


def test_cuda_gets_every_determinism_setting(monkeypatch):
    """On CPU, with the calls recorded: a CUDA device switches on what CUDA determinism needs, a CPU nothing."""
    import torch

    from rtdlib import determinism
    calls = []
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda mode, warn_only=False: calls.append((mode, warn_only)))
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    assert determinism.training_device("cpu") == torch.device("cpu")
    assert calls == [] and torch.backends.cudnn.benchmark is True
    assert determinism.training_device("cuda:1") == torch.device("cuda:1")
    assert calls == [(True, True)]
    assert torch.backends.cudnn.deterministic is True and torch.backends.cudnn.benchmark is False
    import os
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setattr(torch, "are_deterministic_algorithms_enabled", lambda: True)
    monkeypatch.setattr(torch, "is_deterministic_algorithms_warn_only_enabled", lambda: True)
    assert determinism.settings() == {"deterministic_algorithms": True, "warn_only": True, "cudnn_deterministic": True,
                                      "cudnn_benchmark": False, "cublas_workspace_config": ":4096:8"}


def test_an_explicit_cublas_workspace_is_kept(monkeypatch):
    import os

    import torch

    from rtdlib import determinism
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda mode, warn_only=False: None)
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    determinism.make_deterministic()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
