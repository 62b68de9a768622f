"""Probing a stored distillation on another dataset (Sarnthein et al. 2023, Tables 2 and 4).

Evaluation is not training: the teacher and student come from their distill entry, trained once on
the source dataset and read by the entry of every target dataset, which holds only the probes there.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import data, models
from .config import ConfigError, DataCfg, DistillCfg
from .determinism import training_device
from .distill import Prober, distill, probe_dataset, probe_rows
from .store import Store


@dataclass(frozen=True)
class TransferCfg:
    student: DistillCfg  # the distillation on the source dataset (computed, or read from the store)
    probe_data: DataCfg  # the target: input, teacher and student are probed on its train/test split

    def __post_init__(self):
        if self.student.probe_data is not None:
            raise ConfigError(f"transfer: the student's own probe_data must be unset (got {self.student.probe_data}); "
                              "the target goes in TransferCfg.probe_data, so one distillation serves every target")


def transfer(cfg: TransferCfg, run=None, device=None) -> dict:
    """Probe rows of the distillation's final nets on the target, plus the distill entry's store hash."""
    device = training_device(device)
    store = Store(run.path.parents[1]) if run else Store()  # results/<kind>/<hash> -> results/
    source = store.get_or_run("distill", cfg.student, distill)
    d = cfg.student
    shape = data.load(d.data, device).shape
    target = probe_dataset(cfg.probe_data, device, shape)
    cl = d.channels_last and device.type == "cpu"
    nets = {}
    for name in ("teacher", "student"):
        net = models.build(d.model, shape[0])
        net.load_state_dict(source.load(name))
        nets[name] = net.to(device, memory_format=torch.channels_last if cl else torch.contiguous_format).eval()
    prober = Prober(target, cfg.probe_data, d.probe, cl)
    steps = source.metrics["steps_per_epoch"]
    rows = probe_rows(prober, d.probe_nets, nets["teacher"], nets["student"], d.epochs, d.epochs * steps, True)
    return {"probes": rows, "student": source.hash, "steps_per_epoch": steps}
