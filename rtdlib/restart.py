"""Restarting random-teacher distillation (Sarnthein et al. 2023, App. D.1, Fig. 18).

The student distilled in a first round becomes the frozen teacher of a second round: its weights
and BN running statistics are loaded from the first round's store entry (weights_only) and it is
kept in eval mode; a new student is placed next to it by locality init and trained as before.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import ConfigError, DistillCfg
from .distill import distill
from .store import Store


@dataclass(frozen=True)
class RestartCfg:
    first: DistillCfg   # the first round (computed, or read from the store)
    second: DistillCfg  # the second round; its teacher is the first round's final student

    def __post_init__(self):
        if self.first.model != self.second.model:
            raise ConfigError(f"restart: the second round's model {self.second.model} must equal the "
                              f"first round's {self.first.model} (its teacher is the first round's student)")


def restart(cfg: RestartCfg, run=None, device=None) -> dict:
    """The second round's metrics (as distill returns them) plus the first round's store hash."""
    # the first round lives in the same store as this entry: results/<kind>/<hash> -> results/
    store = Store(run.path.parents[1]) if run else Store()
    first = store.get_or_run("distill", cfg.first, distill)
    metrics = distill(cfg.second, run, device, teacher_state=first.load("student"))
    return metrics | {"first": first.hash}
