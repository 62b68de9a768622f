"""Deterministic kernels on CUDA: a resumed run, a `make verify` or a rerun on the same GPU gives the same numbers.

CPU kernels are deterministic already (tests/test_determinism.py). On CUDA, cuBLAS needs a fixed workspace
(CUBLAS_WORKSPACE_CONFIG, read when its handle is created, so set before the first matrix product), cuDNN
must not pick kernels by timing them (benchmark) nor use its non-deterministic ones, and PyTorch is told to
use deterministic implementations. Some CUDA kernels have none (e.g. AdaptiveAvgPool2d's backward, in every
ResNet): PyTorch then warns (warn_only) instead of stopping a run, and such runs are checked statistically
(equal within noise over seeds) rather than bit for bit.
"""
from __future__ import annotations

import os

import torch

from .config import default_device

CUBLAS_WORKSPACE = ":4096:8"  # PyTorch's documented choice for deterministic cuBLAS (CUDA >= 10.2)


def training_device(device=None) -> torch.device:
    """The device an engine computes on (`device`, else config.default_device()), made deterministic if CUDA."""
    device = torch.device(device or default_device())
    if device.type == "cuda":
        make_deterministic()
    return device


def make_deterministic() -> None:
    """Every setting CUDA determinism needs (idempotent; an explicit CUBLAS_WORKSPACE_CONFIG is kept)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def settings() -> dict:
    """The determinism settings in force in this process (for an entry's meta)."""
    return {"deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
            "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
            "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG")}
