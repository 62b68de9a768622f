"""Locality initialization: a student placed between its teacher and an independent init.

theta_S = ((1 - a) theta_T + a theta_fresh) / sqrt(a^2 + (1 - a)^2) on every parameter (buffers are
copied from the teacher). The mix is computed in float64: in float32 a = 1e-10 rounds most weights
back to the teacher's exactly, which is why both distances are recorded.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn


def locality_init(teacher: nn.Module, fresh: nn.Module, alpha: float) -> tuple[nn.Module, dict]:
    """Return (student, info) with the intended and the actual (float32) distance to the teacher."""
    if not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha = {alpha!r} is outside [0, 1]")
    student = copy.deepcopy(teacher)
    scale = 1.0 / math.sqrt(alpha ** 2 + (1 - alpha) ** 2)
    intended_sq, actual_sq, identical, total = 0.0, 0.0, 0, 0
    with torch.no_grad():
        for (name, p_s), p_t, p_f in zip(student.named_parameters(), teacher.parameters(), fresh.parameters()):
            if p_t.shape != p_f.shape:
                raise ValueError(f"parameter {name}: teacher shape {tuple(p_t.shape)} != fresh {tuple(p_f.shape)}")
            t64, f64 = p_t.double(), p_f.double()
            mixed = ((1 - alpha) * t64 + alpha * f64) * scale
            p_s.copy_(mixed.to(p_s.dtype))
            intended_sq += (mixed - t64).pow(2).sum().item()
            actual_sq += (p_s.double() - t64).pow(2).sum().item()
            identical += (p_s == p_t).sum().item()
            total += p_t.numel()
    return student, {"alpha": alpha, "dist_intended": math.sqrt(intended_sq),
                     "dist_actual": math.sqrt(actual_sq), "frac_identical": identical / total}


def param_distance(a: nn.Module, b: nn.Module) -> float:
    """Euclidean distance between two networks' parameter vectors (buffers excluded)."""
    with torch.no_grad():
        diffs = ((p - q).cpu() if p.device.type == "mps" else p - q for p, q in zip(a.parameters(), b.parameters()))
        return math.sqrt(sum(d.double().pow(2).sum().item() for d in diffs))  # mps has no float64
