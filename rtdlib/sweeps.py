"""From a notebook's settings to the list of run configs it needs (also used for dry-run plans)."""
from __future__ import annotations

from .config import ConfigError, DataCfg, DistillCfg, ModelCfg, ProbeCfg, config_hash, replace


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


def head_model(P, arch, norm, width) -> ModelCfg:
    """The encoder with the profile's head (an unknown head setting is a one-line ConfigError)."""
    return replace(ModelCfg(arch, norm, width), **P["head"])


def probe_cfg(P, **changes) -> ProbeCfg:
    """The profile's probe: its linear-probe optimizer (the authors' AdamW probe in `paper`), changed by `changes`."""
    return ProbeCfg(linear_optimizer=P["linear_optimizer"], **changes)


def distill_run(P, arch, norm, width, seed, **changes) -> DistillCfg:
    """One distillation run of a notebook: the profile's data, head, locality and optimizer, changed by
    `changes`. Every notebook builds its runs here, so equal settings always give equal store entries."""
    base = dict(data=data_cfg(P), model=head_model(P, arch, norm, width), epochs=P["epochs"],
                batch_size=P["batch_size"], lr=P["lr"], seed=seed, probe_epochs=probe_epochs(P), probe=probe_cfg(P),
                precision=P["precision"], drop_last=P["drop_last"])
    if "alpha" in P:
        base["alpha"] = P["alpha"]
    if P.get("probe_steps"):  # probes inside epochs too: a log-spaced curve over the early steps
        base["probe_steps"] = tuple(P["probe_steps"])
    return DistillCfg(**(base | changes))


def student_vs_teacher(P) -> list[DistillCfg]:
    """Fig. 1 / Tables 1 and 3: every dataset (`dataset`, then `more_datasets`) x architecture x seed, student
    close to its teacher."""
    require(P, "seeds"), require(P, "archs")
    return [distill_run(P | {"dataset": dataset}, arch, norm, width, seed) for dataset in datasets(P)
            for arch, norm, width in map(arch_triple, P["archs"]) for seed in P["seeds"]]


def datasets(P) -> list[str]:
    """The datasets a notebook runs on: `dataset`, then those of `more_datasets` (Tables 1 and 3's rows)."""
    return [P["dataset"], *(d for d in P["more_datasets"] if d != P["dataset"])]


BASELINE_NETS = ("input", "teacher", "teacher_bnrecal")  # the BN-recalibrated teacher: BN nets only


def with_baselines(P, arch, norm, width, seed, **changes) -> DistillCfg:
    """A run that also probes the input and the (BN-recalibrated) teacher, with the profile's low-label probe."""
    return distill_run(P, arch, norm, width, seed, probe=probe_cfg(P, low_label=P["low_label"]),
                       probe_nets=(*BASELINE_NETS, "student"), **changes)


def ablation_variants(P) -> list[tuple[str, str, DistillCfg]]:
    """Figs. 10-12: (study, variant label, config) for every architecture x seed.

    Each study changes one thing of the reference model: the output dimension m (Fig. 10), the norm
    layer (Fig. 11), or the l2-bottleneck parts, including the authors' public code (Fig. 12). The
    reference config recurs in every study and is run once (same hash). The authors' code is its own
    run: it applies neither weight normalization and starts lin2 trunc-normal (std 0.02), so it is the
    head without wn1 and wn2 at a smaller initial scale (`models.head`). A head change leaves the teacher's encoder
    bit-identical (it is built first from the same seed), so every head variant's teacher baselines
    equal the reference run's.
    """
    out = []
    for arch, norm, width in P["archs"]:
        base = head_model(P, arch, norm, width)
        for seed in P["seeds"]:
            def add(study, label, **change):
                out.append((study, label, with_baselines(P, arch, norm, width, seed, model=replace(base, **change))))
            for m in P["out_dims"]:
                add("output_dim", str(m), out_dim=m)
            for n in P["norms"]:
                add("norm", n, norm=n)
            for label, parts, authors_code in P["head_variants"]:
                add("head", label, head_parts=tuple(parts), authors_code=authors_code)
    return out


def ablations(P) -> list[DistillCfg]:
    return list({config_hash("distill", c): c for _, _, c in ablation_variants(P)}.values())


def architectures(P) -> list[DistillCfg]:
    """Table 5: every encoder x seed, probed at the start and the end of distillation."""
    return [with_baselines(P, arch, norm, width, seed) for arch, norm, width in P["archs"] for seed in P["seeds"]]


def locality(P) -> list[DistillCfg]:
    """Figs. 3 and 17: every architecture x locality alpha x seed."""
    return [distill_run(P, arch, norm, width, seed, alpha=alpha)
            for arch, norm, width in P["archs"] for alpha in P["alphas"] for seed in P["seeds"]]


def input_size_check(P) -> list[DistillCfg]:
    """The locality runs at the smallest α > 0 again with P["size_check"] pixels a side (quick: the native 28x28
    next to its 16x16): whether downscaled inputs change the student's gain over its teacher."""
    if P["size_check"] is None:
        return []
    near = min(a for a in P["alphas"] if a > 0)
    return [replace(c, data=replace(c.data, image_size=P["size_check"])) for c in locality(P) if c.alpha == near]


def data_size(P) -> list[DistillCfg]:
    """Fig. 4: distillation on the first n images (or n Gaussian-noise inputs) for a fixed number of
    optimization steps, probed on one fixed clean probe set."""
    arch, norm, width = P["arch"]
    probe = DataCfg(P["dataset"], P["probe_train_size"], P["test_size"], P["image_size"])
    out = []
    for n in P["sizes"]:
        if n > P["steps"] * P["batch_size"]:  # a whole epoch of n would outlast the step budget
            raise ConfigError(f"size n = {n} exceeds steps x batch_size = {P['steps'] * P['batch_size']}: every "
                              f"size must be seen at least once in the same number of steps; raise steps or drop n")
        per_epoch = -(-n // P["batch_size"]) if not P["drop_last"] else max(1, n // P["batch_size"])
        epochs = -(-P["steps"] // per_epoch)  # ceil: at least `steps` updates
        for noise in (False, True):
            out += [distill_run(P, arch, norm, width, seed, epochs=epochs, probe_epochs=(epochs,), probe_data=probe,
                                data=DataCfg(P["dataset"], n, P["test_size"], P["image_size"], noise=noise))
                    for seed in P["seeds"]]
    return out


def transfer_student(P, src, arch, norm, width, seed) -> DistillCfg:
    """A distillation on a source dataset of Tables 2 and 4, probed on its targets only (transfer)."""
    return distill_run(P, arch, norm, width, seed, data=DataCfg(src, P["train_size"], P["test_size"], P["image_size"]),
                       probe_epochs=())


def transfer_students(P) -> list[DistillCfg]:
    return list(dict.fromkeys(c.student for c in transfer(P)))


def transfer(P) -> list:
    """Tables 2 and 4: distil on a source dataset once, probe its teacher and student on every target dataset."""
    from .transfer import TransferCfg
    return [TransferCfg(transfer_student(P, src, arch, norm, width, seed),
                        DataCfg(dst, P["probe_train_size"], P["test_size"], P["image_size"]))
            for src, dst in P["transfer_pairs"] for arch, norm, width in P["transfer_archs"] for seed in P["seeds"]]


def restart(P):
    """Fig. 18: a first round (as in the locality sweep) and a second round whose teacher is its student."""
    from .restart import RestartCfg
    out = []
    for arch, norm, width in P["archs"]:
        for seed in P["seeds"]:
            first = distill_run(P, arch, norm, width, seed)
            second = distill_run(P, arch, norm, width, seed, epochs=P["epochs2"],
                                 probe_epochs=tuple(e for e in P["probe_epochs2"] if e <= P["epochs2"]) + (P["epochs2"],))
            out.append(RestartCfg(first, second))
    return out


# ---------------------------------------------------------------- Figs. 8 and 9 (supervised from theta_S / theta*_S)

def students(P) -> list[DistillCfg]:
    """The random-teacher distillations whose init theta_S and student theta*_S are the start points."""
    distill_part = P | {"train_size": P["distill_train_size"], "test_size": P["distill_test_size"],
                        "epochs": P["distill_epochs"], "lr": P["distill_lr"], "probe_epochs": [P["distill_epochs"]]}
    return [distill_run(distill_part, *P["arch"], seed, probe_nets=("teacher", "student"),
                        probe=probe_cfg(P, low_label=None)) for seed in P["seeds"]]


def supervised_runs(P, start: str, distill: DistillCfg, order: int = 0, save_epochs=()):
    from .supervised import SupervisedCfg
    return SupervisedCfg(distill=distill, start=start, data=DataCfg(P["dataset"], P["train_size"], P["test_size"],
                                                                    P["image_size"]),
                         epochs=P["epochs"], batch_size=P["batch_size"], lr=P["lr"], crop_pad=P["crop_pad"],
                         flip=P["flip"], seed=order, aug_seed=distill.seed, save_epochs=tuple(save_epochs),
                         drop_last=P["drop_last"])


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


def landscape_grids(P) -> dict:
    """Figs. 5, 13-16: {"view/coords[/zoom]": LandscapeCfg} around the teacher of the first seed and its two
    students, plus the crop around the teacher for every further seed ("shared/ortho/zoom/seed=S"), which
    carries the asymmetric-valley verdict over seeds. The first seed's keys and configs do not depend on the
    other seeds, so its store entries stay those of a single-seed run."""
    from dataclasses import replace

    from .landscape import BN_CHOICES, LandscapeCfg
    first, *others = require(P, "seeds")
    endpoint = distill_run(P, *P["arch"], first, probe_nets=tuple(P["probe_nets"]))
    base = LandscapeCfg(distill=endpoint, local_alpha=P["alpha"], resolution=P["resolution"], margin=P["margin"],
                        bn=P["bn"], eval_size=P["eval_size"], probe_train=P["probe_train"],
                        probe_test=P["probe_test"], linear_steps=P["linear_steps"], batched=P["batched"],
                        chunk=P["chunk"])
    grids = {f"{view}/{coords}": replace(base, view=view, coords=coords)
             for view in ("nonlocal", "shared") for coords in ("interp", "ortho")}
    # the crop carries the valley verdict: more probe test images there (binomial error per point)
    grids["shared/ortho/zoom"] = replace(grids["shared/ortho"], crop=P["crop"], resolution=P["crop_resolution"],
                                         probe_test=P["crop_probe_test"])
    other = next(b for b in BN_CHOICES if b != P["bn"])  # the shared view again with the other BN choice
    grids[f"shared/interp/bn={other}"] = replace(grids["shared/interp"], bn=other)
    for seed in others:
        grids[f"shared/ortho/zoom/seed={seed}"] = replace(grids["shared/ortho/zoom"],
                                                          distill=replace(endpoint, seed=seed))
    return grids


def valley_nulls(P) -> dict:
    """Fig. 14's null, per seed ("null/seed=S"): `null_directions` random lines through that seed's teacher,
    each as long as its α≈0 student's displacement, at the offsets of its crop (losses only: no probes)."""
    from dataclasses import replace
    zooms = {s: g for k, g in landscape_grids(P).items() if k.startswith("shared/ortho/zoom")
             for s in [g.distill.seed]}
    return {f"null/seed={s}": replace(g, view="lines", coords="interp", directions=P["null_directions"], probes=False)
            for s, g in zooms.items()}


def landscape_distills(P) -> list[DistillCfg]:
    """The distillation runs behind the landscapes (the grids themselves are cheap next to them on a GPU)."""
    from .landscape import endpoint_cfgs
    return list(dict.fromkeys(c for g in landscape_grids(P).values() for c in endpoint_cfgs(g).values()))


def peer_settings(P) -> list[dict]:
    """The consensus settings (k, rule, loss, consensus_weight, lr) of a profile.

    "full": every combination. "reduced": K x rule with the base loss, weight and lr; every other loss at
    every K with the base rule and at the base K with every rule; every other weight and every other lr at
    the base K and rule, with every loss (so the head-free "mse" settings vary them as "ce" does).
    """
    b = P["base"]
    axes = {"k": P["ks"], "rule": P["rules"], "loss": P["losses"], "consensus_weight": P["weights"], "lr": P["lrs"]}
    if P["design"] == "full":
        import itertools
        return [dict(zip(axes, v)) for v in itertools.product(*axes.values())]
    out = [b | {"k": k, "rule": r} for k in P["ks"] for r in P["rules"]]
    out += [b | {"loss": loss, "k": k} for loss in P["losses"] if loss != b["loss"] for k in P["ks"]]
    out += [b | {"loss": loss, "rule": r} for loss in P["losses"] if loss != b["loss"] for r in P["rules"]]
    out += [b | {"loss": loss, "consensus_weight": w} for w in P["weights"] if w != b["consensus_weight"]
            for loss in P["losses"]]
    out += [b | {"loss": loss, "lr": lr} for lr in P["lrs"] if lr != b["lr"] for loss in P["losses"]]
    return list({tuple(s.items()): s for s in out}.values())


def peer_controls(settings) -> list[dict]:
    """One independent control per (loss, lr), as large as the largest group it is compared with."""
    ks = {}
    for s in settings:
        ks[(s["loss"], s["lr"])] = max(ks.get((s["loss"], s["lr"]), 1), s["k"])
    return [{"k": k, "rule": "none", "loss": loss, "consensus_weight": 0.0, "lr": lr} for (loss, lr), k in ks.items()]


def peer_consensus(P):
    """Every consensus setting and control x seed; the base control also probes input and untrained nets."""
    from .peers import PeersCfg
    settings = peer_settings(P)
    controls = peer_controls(settings)
    base = (P["base"]["loss"], P["base"]["lr"])
    probe_epochs = tuple(e for e in P["probe_epochs"] if e < P["epochs"])  # those inside an overridden epoch count
    return [PeersCfg(data=data_cfg(P), model=ModelCfg(**P["model"]), epochs=P["epochs"], batch_size=P["batch_size"],
                     seed=seed, probe=ProbeCfg(**P["probe"]), probe_epochs=probe_epochs,
                     baselines=s["rule"] == "none" and (s["loss"], s["lr"]) == base, **s)
            for s in controls + settings for seed in P["seeds"]]



def landscapes(P) -> list:
    return list(landscape_grids(P).values())


def lottery_dense(P) -> list:
    """The dense supervised runs the IMP lines of Fig. 8 start from (one per start x seed)."""
    return list(dict.fromkeys(c.train for c in lottery(P)))


# notebook -> its stages, in order: (result kind, the configs of that kind it needs); a notebook may
# read later stages' inputs from earlier ones (e.g. IMP from the dense supervised runs)
SWEEPS = {"01_student_vs_teacher": (("distill", student_vs_teacher),),
          "02_locality": (("distill", lambda P: locality(P) + input_size_check(P)),),
          "03_data_dependence": (("distill", lambda P: data_size(P) + transfer_students(P)), ("transfer", transfer)),
          "04_ablations": (("distill", ablations),),
          "05_landscapes": (("distill", landscape_distills),
                            ("landscape", lambda P: landscapes(P) + list(valley_nulls(P).values()))),
          "06_lottery": (("distill", students), ("supervised", lottery_dense), ("lottery", lottery)),
          "07_mode_connectivity": (("distill", students), ("supervised", connectivity_runs),
                                   ("connectivity", connectivity)),
          "08_peer_consensus": (("peers", peer_consensus),),
          "09_architectures": (("distill", architectures),),
          "10_restart": (("restart", restart),)}
