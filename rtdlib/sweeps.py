"""From a notebook's settings to the list of run configs it needs (also used for dry-run plans)."""
from __future__ import annotations

from .config import ConfigError, DataCfg, DistillCfg, ModelCfg, replace


def data_cfg(P) -> DataCfg:
    return DataCfg(P["dataset"], P["train_size"], P["test_size"], P["image_size"])


def probe_epochs(P) -> tuple[int, ...]:
    """The profile's probe epochs that fit in the (possibly overridden) epoch count, plus the last."""
    return tuple(sorted({e for e in P["probe_epochs"] if e <= P["epochs"]} | {P["epochs"]}))


def require(P, key) -> list:
    """A non-empty list setting (seeds, archs, ...)."""
    if not P[key]:
        raise ConfigError(f"{key} = {P[key]!r} must list at least one value")
    return P[key]


def arch_triple(entry) -> tuple[str, str, int]:
    if not (isinstance(entry, (list, tuple)) and len(entry) == 3):
        raise ConfigError(f"archs entry {entry!r} must be [architecture, norm, width]")
    return tuple(entry)


def student_vs_teacher(P) -> list[DistillCfg]:
    """Fig. 1 / Tables 1 and 3: every architecture x seed, student close to its teacher."""
    require(P, "seeds"), require(P, "archs")
    return [DistillCfg(data=data_cfg(P), model=replace(ModelCfg(arch, norm, width), **P["head"]), alpha=P["alpha"],
                       epochs=P["epochs"], batch_size=P["batch_size"], lr=P["lr"], seed=seed,
                       probe_epochs=probe_epochs(P))
            for arch, norm, width in map(arch_triple, P["archs"]) for seed in P["seeds"]]


SWEEPS = {"01_student_vs_teacher": ("distill", student_vs_teacher)}
