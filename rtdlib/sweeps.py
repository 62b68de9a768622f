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


def landscape_grids(P) -> dict:
    """Figs. 5, 13-16: {"view/coords[/zoom]": LandscapeCfg} around one teacher and its two students."""
    from dataclasses import replace

    from .landscape import LandscapeCfg
    arch, norm, width = P["arch"]
    endpoint = DistillCfg(data=data_cfg(P), model=ModelCfg(arch, norm, width, **P["head"]), alpha=P["alpha"],
                          epochs=P["epochs"], batch_size=P["batch_size"], lr=P["lr"], seed=P["seed"],
                          probe_epochs=probe_epochs(P), probe_nets=tuple(P["probe_nets"]))
    base = LandscapeCfg(distill=endpoint, local_alpha=P["alpha"], resolution=P["resolution"], margin=P["margin"],
                        bn=P["bn"], eval_size=P["eval_size"], probe_train=P["probe_train"],
                        probe_test=P["probe_test"], linear_steps=P["linear_steps"], batched=P["batched"],
                        chunk=P["chunk"])
    grids = {f"{view}/{coords}": replace(base, view=view, coords=coords)
             for view in ("nonlocal", "shared") for coords in ("interp", "ortho")}
    grids["shared/ortho/zoom"] = replace(grids["shared/ortho"], crop=P["crop"], resolution=P["crop_resolution"])
    return grids


def landscape_distills(P) -> list[DistillCfg]:
    """The distillation runs behind the landscapes (the grids themselves are cheap next to them on a GPU)."""
    from .landscape import endpoint_cfgs
    return list(dict.fromkeys(c for g in landscape_grids(P).values() for c in endpoint_cfgs(g).values()))


SWEEPS = {"01_student_vs_teacher": ("distill", student_vs_teacher),
          "05_landscapes": ("distill", landscape_distills)}
