"""From a notebook's settings to the list of run configs it needs (also used for dry-run plans)."""
from __future__ import annotations

from .config import DataCfg, DistillCfg, ModelCfg


def data_cfg(P) -> DataCfg:
    return DataCfg(P["dataset"], P["train_size"], P["test_size"], P["image_size"])


def probe_epochs(P) -> tuple[int, ...]:
    """The profile's probe epochs that fit in the (possibly overridden) epoch count, plus the last."""
    return tuple(sorted({e for e in P["probe_epochs"] if e <= P["epochs"]} | {P["epochs"]}))


def student_vs_teacher(P) -> list[DistillCfg]:
    """Fig. 1 / Tables 1 and 3: every architecture x seed, student close to its teacher."""
    return [DistillCfg(data=data_cfg(P), model=ModelCfg(arch, norm, width, **P["head"]), alpha=P["alpha"],
                       epochs=P["epochs"], batch_size=P["batch_size"], lr=P["lr"], seed=seed,
                       probe_epochs=probe_epochs(P))
            for arch, norm, width in P["archs"] for seed in P["seeds"]]


SWEEPS = {"01_student_vs_teacher": ("distill", student_vs_teacher)}


# ---------------------------------------------------------------- Figs. 8 and 9 (supervised from theta_S / theta*_S)

def students(P) -> list[DistillCfg]:
    """The random-teacher distillations whose init theta_S and student theta*_S are the start points."""
    from .config import ProbeCfg
    data = DataCfg(P["dataset"], P["distill_train_size"], P["distill_test_size"], P["image_size"])
    return [DistillCfg(data=data, model=ModelCfg(*P["arch"], **P["head"]), alpha=P["alpha"], epochs=P["distill_epochs"],
                       batch_size=P["batch_size"], lr=P["distill_lr"], seed=seed, probe_epochs=(P["distill_epochs"],),
                       probe_nets=("teacher", "student"), probe=ProbeCfg(low_label=None))
            for seed in P["seeds"]]


def supervised_runs(P, start: str, distill: DistillCfg, order: int = 0, save_epochs=()):
    from .supervised import SupervisedCfg
    return SupervisedCfg(distill=distill, start=start, data=DataCfg(P["dataset"], P["train_size"], P["test_size"],
                                                                    P["image_size"]),
                         epochs=P["epochs"], batch_size=P["batch_size"], lr=P["lr"], crop_pad=P["crop_pad"],
                         flip=P["flip"], seed=order, aug_seed=distill.seed, save_epochs=tuple(save_epochs))


def lottery(P) -> list:
    """Fig. 8: one IMP line per (start, rewind epoch) x seed; lines from one start share the dense run."""
    from .lottery import LotteryCfg
    rewinds = {start: sorted(e for s, e in P["lines"] if s == start and e > 0) for start, _ in P["lines"]}
    return [LotteryCfg(train=supervised_runs(P, start, d, save_epochs=rewinds[start]), rewind_epoch=ell,
                       rounds=P["rounds"], prune_fraction=P["prune_fraction"], prune_scope=P["prune_scope"])
            for d in students(P) for start, ell in P["lines"]]


def connectivity(P) -> list:
    """Fig. 9: from theta_S and from theta*_S of every seed, all pairs of runs over the data orders."""
    from .connectivity import ConnectivityCfg
    return [ConnectivityCfg(train=supervised_runs(P, start, d, order=P["orders"][0]), orders=tuple(P["orders"]),
                            gammas=P["gammas"], bn=P["bn"], recal_size=P["recal_size"])
            for d in students(P) for start in ("init", "student")]


def connectivity_runs(P) -> list:
    """The supervised runs the Fig. 9 pairs are made of (one per start x data order)."""
    from dataclasses import replace
    return [replace(c.train, seed=o) for c in connectivity(P) for o in c.orders]
