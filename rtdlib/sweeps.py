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


def peer_settings(P) -> list[dict]:
    """The consensus settings (k, rule, loss, consensus_weight, lr) of a profile.

    "full": every combination. "reduced": K x rule with the base loss, weight and lr; every other loss x
    rule at the base K; every other weight and every other lr at the base K, rule and loss.
    """
    b = P["base"]
    axes = {"k": P["ks"], "rule": P["rules"], "loss": P["losses"], "consensus_weight": P["weights"], "lr": P["lrs"]}
    if P["design"] == "full":
        import itertools
        return [dict(zip(axes, v)) for v in itertools.product(*axes.values())]
    out = [b | {"k": k, "rule": r} for k in P["ks"] for r in P["rules"]]
    out += [b | {"loss": loss, "rule": r} for loss in P["losses"] if loss != b["loss"] for r in P["rules"]]
    out += [b | {"consensus_weight": w} for w in P["weights"] if w != b["consensus_weight"]]
    out += [b | {"lr": lr} for lr in P["lrs"] if lr != b["lr"]]
    return list({tuple(s.items()): s for s in out}.values())


def peer_controls(settings) -> list[dict]:
    """One independent control per (loss, lr), as large as the largest group it is compared with."""
    ks = {}
    for s in settings:
        ks[(s["loss"], s["lr"])] = max(ks.get((s["loss"], s["lr"]), 1), s["k"])
    return [{"k": k, "rule": "none", "loss": loss, "consensus_weight": 0.0, "lr": lr} for (loss, lr), k in ks.items()]


def peer_consensus(P):
    """Every consensus setting and control x seed; the base control also probes input and untrained nets."""
    from .config import ProbeCfg
    from .peers import PeersCfg
    settings = peer_settings(P)
    controls = peer_controls(settings)
    base = (P["base"]["loss"], P["base"]["lr"])
    return [PeersCfg(data=data_cfg(P), model=ModelCfg(**P["model"]), epochs=P["epochs"], batch_size=P["batch_size"],
                     seed=seed, probe=ProbeCfg(**P["probe"]),
                     baselines=s["rule"] == "none" and (s["loss"], s["lr"]) == base, **s)
            for s in controls + settings for seed in P["seeds"]]


SWEEPS["08_peer_consensus"] = ("peers", peer_consensus)
