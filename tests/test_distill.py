import copy
import math

import pytest
import torch

from conftest import TINY_MODEL, killed_then_resumed, one_training_step, tiny_cfg
from rtdlib import distill as D
from rtdlib.config import ModelCfg, replace
from rtdlib.probe import features, probe_all, raw_features
from rtdlib.store import Store


def test_loss_identities():
    s, t = torch.randn(5, 7), torch.randn(5, 7)
    ce, kl, ent = D.distill_loss(s, t)
    assert kl >= 0 and math.isclose(ce.item(), (kl + ent).item(), rel_tol=1e-6)
    manual = torch.nn.functional.kl_div(torch.log_softmax(s, 1), torch.log_softmax(t, 1), log_target=True,
                                        reduction="batchmean")
    assert torch.allclose(kl, manual, atol=1e-6)
    assert abs(D.distill_loss(t, t)[1].item()) < 1e-6


def test_kl_is_zero_for_identical_nets_without_bn_and_not_with_bn():
    no_bn = replace(tiny_cfg(), alpha=0.0, **{"model.norm": "none"})
    t, s, _ = D.make_nets(no_bn, 1)
    x = torch.randn(32, 1, 8, 8)
    s.train()
    assert abs(D.distill_loss(s(x), t(x))[1].item()) < 1e-6
    t, s, _ = D.make_nets(replace(no_bn, **{"model.norm": "batch"}), 1)
    s.train()  # batch statistics in the student, initial running statistics in the teacher
    assert D.distill_loss(s(x * 3 + 2), t(x * 3 + 2))[1].item() > 1e-6


def test_training_reduces_kl_and_leaves_teacher_untouched():
    cfg = tiny_cfg(epochs=3, probe_epochs=(0, 3), alpha=1.0)
    teacher_before, _, _ = D.make_nets(cfg, 1)
    out = D.distill(cfg, device="cpu")
    h = out["history"]
    assert [r["epoch"] for r in h] == [0, 1, 2, 3]
    assert h[-1]["kl"] < h[1]["kl"] and all(r["kl"] >= -1e-7 for r in h)
    assert h[0]["dist_init"] == 0 and h[-1]["dist_init"] > 0
    nets = {(p["net"], p["probe"]) for p in out["probes"]}
    assert ("teacher_bnrecal", "linear") in nets and ("student", "knn_low") in nets
    rows = {(p["epoch"], p["net"], p["probe"]): p["acc"] for p in out["probes"]}
    assert min(rows.values()) > 0.3  # every probe, low-label ones included, far above chance (0.1)
    ds = D.probe_dataset(D.probe_data(cfg), "cpu")  # the input and the teacher, probed here by hand
    by_hand = {"input": probe_all(raw_features(ds.x_train, ds.normalize), ds.y_train,
                                  raw_features(ds.x_test, ds.normalize), ds.y_test, 10, cfg.probe),
               "teacher": probe_all(features(teacher_before, ds.x_train, ds.normalize), ds.y_train,
                                    features(teacher_before, ds.x_test, ds.normalize), ds.y_test, 10, cfg.probe)}
    for epoch in (0, 3):
        for net, accs in by_hand.items():
            assert {k: rows[epoch, net, k] for k in accs} == accs, (epoch, net)


def test_constant_probes_are_computed_once_per_teacher_and_equal_a_fresh_computation(monkeypatch):
    real, featured = D.features, []
    monkeypatch.setattr(D, "features", lambda net, *a, **k: featured.append(net) or real(net, *a, **k))
    ran = {}
    for alpha, seed in ((1e-10, 0), (1.0, 0), (1e-10, 1)):
        featured.clear()
        out = D.distill(tiny_cfg(epochs=1, probe_epochs=(1,), alpha=alpha, seed=seed), device="cpu")
        ran[alpha, seed] = {(p["net"], p["probe"]): p["acc"] for p in out["probes"]}
        # student and its BN-recalibrated copy always; the teacher (and its recalibrated copy) only for a new one
        assert len(featured) == 2 * (2 if (alpha, seed) == (1.0, 0) else 4), (alpha, seed)
    memo_free = []
    for alpha, seed in ((1.0, 0), (1e-10, 1)):
        D.CONSTANT_PROBES.clear()
        out = D.distill(tiny_cfg(epochs=1, probe_epochs=(1,), alpha=alpha, seed=seed), device="cpu")
        memo_free.append({(p["net"], p["probe"]): p["acc"] for p in out["probes"]})
    assert memo_free == [ran[1.0, 0], ran[1e-10, 1]]  # the memo returns exactly what a fresh run computes


def test_teacher_parameters_unchanged_by_training(tmp_path):
    cfg = tiny_cfg(epochs=1, probe_epochs=(0,))
    r = Store(tmp_path).get_or_run("distill", cfg, D.distill)
    fresh_teacher, _, _ = D.make_nets(cfg, 1)
    saved = r.load("teacher")
    assert all(torch.equal(saved[k], v) for k, v in fresh_teacher.state_dict().items())
    assert any(not torch.equal(r.load("student")[k], v) for k, v in fresh_teacher.state_dict().items()
               if v.dtype.is_floating_point)


def test_probe_rows_skip_bnrecal_without_bn():
    out = D.distill(replace(tiny_cfg(epochs=1, probe_epochs=(1,)), **{"model.norm": "none"}), device="cpu")
    assert {p["net"] for p in out["probes"]} == {"input", "teacher", "student"}


def test_killed_run_resumes_to_identical_numbers(tmp_path, monkeypatch):
    cfg = tiny_cfg(epochs=3, probe_epochs=(0, 2, 3))
    clean = Store(tmp_path / "a").get_or_run("distill", cfg, D.distill)
    resumed, checkpoints = killed_then_resumed(tmp_path / "b", "distill", cfg, D.distill, monkeypatch, kill_epoch=2)
    assert checkpoints == 3  # epochs 1, 2, then the rerun started at epoch 3
    assert resumed.metrics == clean.metrics
    assert all(torch.equal(resumed.load("student")[k], v) for k, v in clean.load("student").items())


def test_bf16_autocast_trains_a_different_but_close_student():
    cfg = tiny_cfg(epochs=1, probe_epochs=(1,), probe_nets=("student",))
    fp32, bf16 = (D.distill(replace(cfg, precision=p), device="cpu") for p in ("fp32", "bf16"))
    l32, l16 = fp32["history"][-1]["loss"], bf16["history"][-1]["loss"]
    assert l32 != l16 and abs(l32 - l16) < 0.05 * l32  # rounded matmuls, same optimization
    assert fp32["history"][0] == bf16["history"][0]  # epoch 0 is measured before any bf16 step


def test_bf16_training_keeps_losses_and_probes_in_fp32(monkeypatch):
    """bf16 chosen by "auto" on a CPU faked to run it natively, so the test does not depend on this CPU's
    instruction set: the forward passes of the training step run under autocast, the loss is computed from
    fp32 logits, and no probe (at epochs, or at a step inside an epoch) and no epoch-0 measurement runs under
    autocast."""
    from rtdlib import config
    monkeypatch.setattr(config, "cpu_bf16_flags", lambda: ["amx_bf16"])
    cfg = tiny_cfg(epochs=1, probe_epochs=(0, 1), probe_steps=(2,), probe_nets=("teacher", "student"))
    losses, probes, forwards = [], [], []
    real_loss, real_features = D.distill_loss, D.features

    def loss_spy(s, t, *a):
        losses.append((s.dtype, t.dtype, torch.is_autocast_enabled("cpu")))
        return real_loss(s, t, *a)

    def features_spy(*a, **kw):
        probes.append(torch.is_autocast_enabled("cpu"))
        return real_features(*a, **kw)

    monkeypatch.setattr(D, "distill_loss", loss_spy)
    monkeypatch.setattr(D, "features", features_spy)
    real_build = D.models.build

    def build_spy(*a, **kw):  # records whether each network's forward pass runs under autocast
        net = real_build(*a, **kw)
        net.register_forward_hook(lambda m, i, o: forwards.append(o.dtype))
        return net

    monkeypatch.setattr(D.models, "build", build_spy)
    out = D.distill(cfg, device="cpu")
    assert out["precision"] == "bf16"
    steps = out["steps_per_epoch"]
    assert len(losses) == min(D.EPOCH0_BATCHES, steps) + steps  # epoch 0 on a few batches, then every step
    assert set(losses) == {(torch.float32, torch.float32, False)}
    assert forwards.count(torch.bfloat16) == 2 * steps  # teacher and student of every step, nothing else
    # features of the train and the test split: the teacher once, the student at epochs 0 and 1 and at step 2
    assert len(probes) == 2 * (1 + 3) and not any(probes)


def test_auto_precision_is_bf16_exactly_where_the_cpu_runs_it_natively(monkeypatch):
    from rtdlib import config
    cfg = tiny_cfg(epochs=1, probe_epochs=(1,), probe_nets=("student",))
    explicit = {p: D.distill(replace(cfg, precision=p), device="cpu") for p in ("fp32", "bf16")}
    for flags, expected in (([], "fp32"), (["avx512_bf16"], "bf16"), (["amx_bf16"], "bf16")):
        monkeypatch.setattr(config, "cpu_bf16_flags", lambda: flags)
        auto = D.distill(replace(cfg, precision="auto"), device="cpu")
        assert auto["precision"] == expected and auto["history"] == explicit[expected]["history"]
    assert explicit["fp32"]["precision"] == "fp32" and explicit["bf16"]["precision"] == "bf16"


def test_non_finite_loss_stops_with_a_clear_error(monkeypatch):
    monkeypatch.setattr(D, "distill_loss", lambda s, t, a, b: tuple(x * float("nan") for x in
                                                                      (s.sum(), s.sum(), s.sum())))
    with pytest.raises(D.NonFiniteLoss, match="non-finite loss nan at epoch 0"):
        D.distill(tiny_cfg(epochs=1, probe_epochs=(0,)), device="cpu")


PAPER_MODELS = [("resnet18", "batch"), ("resnet34", "batch"), ("resnet50", "batch"), ("resnet20", "batch"),
                ("resnet56", "batch"), ("vgg11", "none"), ("vgg13", "none"), ("vgg16", "none"), ("vgg19", "none"),
                ("vgg11", "batch")]


@pytest.mark.parametrize("arch, norm", PAPER_MODELS)
def test_paper_models_take_one_training_step(arch, norm):
    s, before, loss, _ = one_training_step(ModelCfg(arch, norm, out_dim=2 ** 16))
    assert math.isfinite(loss.item()) and abs(loss.item() - math.log(2 ** 16)) < 0.01
    assert any(not torch.equal(a, b) for a, b in zip(before, s.parameters()))
    assert s.encoder.feature_dim == {"resnet50": 2048, "resnet20": 64, "resnet56": 64}.get(arch, 512)


def test_probes_inside_an_epoch_land_on_their_steps_and_leave_training_unchanged():
    from rtdlib.config import ConfigError
    # 256 images / batch 64 = 4 steps per epoch: steps 1 and 3 lie inside epoch 1, step 6 inside epoch 2
    plain = D.distill(tiny_cfg(probe_nets=("student",)), device="cpu")
    probed = D.distill(tiny_cfg(probe_nets=("student",), probe_steps=(1, 3, 6)), device="cpu")
    at = {(r["step"], r["epoch"]) for r in probed["probes"]}
    assert at == {(0, 0), (1, 0.25), (3, 0.75), (6, 1.5), (8, 2)}
    final = lambda res: {r["probe"]: r["acc"] for r in res["probes"] if r["step"] == 8}
    assert final(plain) == final(probed)  # probing reads the student, never changes it
    assert [h["loss"] for h in plain["history"]] == [h["loss"] for h in probed["history"]]
    with pytest.raises(ConfigError) as e:
        D.distill(tiny_cfg(probe_steps=(3, 9, 12)), device="cpu")
    assert str(e.value) == ("probe_steps [9, 12] lie beyond the run's 8 steps (2 epochs x 4 steps per epoch); "
                            "allowed: 1..8")
    last = D.distill(tiny_cfg(probe_epochs=(), probe_steps=(8,), probe_nets=("student",)), device="cpu")
    assert [(p["epoch"], p["step"]) for p in last["probes"] if p["probe"] == "linear"] == [(2, 8)]  # the last step


def objective_by_hand(cfg):
    """(cross-entropy, KL, teacher entropy) of the paper's objective on the whole train set, one batch:
    softmax(teacher / tau_t) as soft labels for student / tau_s, teacher in eval mode, student in train mode."""
    from rtdlib import data
    ds = data.load(cfg.data, "cpu")
    teacher, student, _ = D.make_nets(cfg, ds.shape[0])
    x = ds.normalize(ds.x_train)
    with torch.no_grad():
        t = teacher.eval()(x) / cfg.tau_teacher
        s = student.train()(x) / cfg.tau_student
    ce = torch.nn.functional.cross_entropy(s, t.softmax(1)).item()
    ent = torch.distributions.Categorical(logits=t).entropy().mean().item()
    kl = torch.nn.functional.kl_div(s.log_softmax(1), t.log_softmax(1), log_target=True, reduction="batchmean").item()
    return ce, kl, ent


def test_recorded_objective_uses_both_temperatures_and_the_eval_mode_teacher():
    """With one full batch per epoch, epoch 0 and the loss of epoch 1's only step (taken before the update)
    are the objective at initialization; distinct temperatures tell student and teacher apart."""
    cfg = tiny_cfg(epochs=1, batch_size=256, probe_epochs=(), tau_student=0.5, tau_teacher=0.2)
    ce, kl, ent = objective_by_hand(cfg)
    h = D.distill(cfg, device="cpu")["history"]
    for row in h:  # epoch 0 (the probe copy) and epoch 1 (the training step)
        assert row["loss"] == pytest.approx(ce, rel=1e-4)
        assert row["kl"] == pytest.approx(kl, rel=1e-3, abs=1e-5)
        assert row["teacher_entropy"] == pytest.approx(ent, rel=1e-4)
    assert kl > 0.01  # the check above tells a swapped or untempered loss apart


def test_probes_run_at_exactly_the_configured_epochs():
    out = D.distill(tiny_cfg(epochs=2, probe_epochs=(0, 1), probe_nets=("student",)), device="cpu")
    assert [p["epoch"] for p in out["probes"] if p["probe"] == "linear"] == [0, 1]  # not the last epoch 2


def test_data_size_runs_take_the_fewest_whole_epochs_that_reach_the_step_budget():
    """Fig. 4 compares sizes at an equal number of updates: ceil(steps / batches per epoch) epochs, where an
    epoch of n < batch_size images is one batch and a last partial batch is dropped (by hand: 10 steps at
    1, 3, 3, 6, 10 batches per epoch)."""
    from rtdlib import sweeps
    from rtdlib.config import ConfigError
    from rtdlib.profiles import settings
    P = settings("03_data_dependence", "smoke") | {"sizes": [20, 96, 100, 200, 320], "steps": 10, "batch_size": 32}
    cfgs = sweeps.data_size(P)
    by_hand = {20: 10, 96: 4, 100: 4, 200: 2, 320: 1}
    assert {(c.data.train_size, c.data.noise, c.epochs, c.seed) for c in cfgs} == \
        {(n, noise, e, s) for n, e in by_hand.items() for noise in (False, True) for s in P["seeds"]}
    assert len(cfgs) == 2 * len(by_hand) * len(P["seeds"])
    probe = {(c.probe_data.name, c.probe_data.train_size, c.probe_data.noise) for c in cfgs}
    assert probe == {(P["dataset"], P["probe_train_size"], False)}  # one clean probe set for all
    assert all(c.probe_epochs == (c.epochs,) and c.batch_size == 32 for c in cfgs)
    with pytest.raises(ConfigError, match="size n = 321 exceeds steps x batch_size = 320"):
        sweeps.data_size(P | {"sizes": [321]})


@pytest.mark.parametrize("notebook", ["01_student_vs_teacher", "02_locality", "03_data_dependence", "04_ablations",
                                      "05_landscapes", "06_lottery", "07_mode_connectivity", "09_architectures",
                                      "10_restart"])
def test_a_notebooks_precision_setting_reaches_every_run_it_distils(notebook):
    """The `precision` parameter must not stop at the notebook: each sweep builds its runs in its own way."""
    import dataclasses

    from rtdlib.config import DistillCfg
    from rtdlib.profiles import settings
    from rtdlib.sweeps import SWEEPS

    def distill_cfgs(x):  # the distillations a config is or holds (a restart's rounds, a lottery's start, ...)
        if isinstance(x, DistillCfg):
            yield x
        elif dataclasses.is_dataclass(x):
            for f in dataclasses.fields(x):
                yield from distill_cfgs(getattr(x, f.name))

    for precision in ("fp32", "bf16"):
        P = settings(notebook, "smoke", precision=precision)
        cfgs = [c for _, make in SWEEPS[notebook] for x in make(P) for c in distill_cfgs(x)]
        assert cfgs and {c.precision for c in cfgs} == {precision}


def test_keeping_the_last_partial_batch_adds_a_step(monkeypatch):
    """200 images at batch 64: 3 full batches (the default) or 3 and one of 8 (drop_last=False, the paper)."""
    from rtdlib.config import DataCfg
    cfg = tiny_cfg(data=DataCfg("digits", train_size=200, test_size=128), epochs=1, probe_epochs=(1,),
                   probe_nets=("student",))
    assert D.distill(cfg, device="cpu")["steps_per_epoch"] == 3
    seen = []
    original = D.distill_loss
    monkeypatch.setattr(D, "distill_loss", lambda s, t, *a: seen.append(len(s)) or original(s, t, *a))
    assert D.distill(replace(cfg, drop_last=False), device="cpu")["steps_per_epoch"] == 4
    assert seen[-4:] == [64, 64, 64, 8]  # the training steps of the epoch, the partial batch last


def test_optimizer_settings_and_the_authors_bias_group_by_hand():
    student = D.make_nets(tiny_cfg(), 1)[1]
    named = dict(student.named_parameters())
    one = D.optimizer(student, tiny_cfg(lr=3e-3, weight_decay=0.05))
    (group,) = one.param_groups
    assert [id(p) for p in group["params"]] == [id(p) for p in student.parameters()]
    assert (group["lr"], group["weight_decay"]) == (3e-3, 0.05)
    two = D.optimizer(student, tiny_cfg(lr=3e-3, weight_decay=0.05, bias_weight_decay=0.0))
    decayed, biases = two.param_groups
    one_d = {n for n, p in named.items() if n.endswith("bias") or p.dim() == 1}
    assert {n for n, p in named.items() if any(p is q for q in biases["params"])} == one_d
    assert {n for n, p in named.items() if any(p is q for q in decayed["params"])} == set(named) - one_d
    assert any(n.endswith("weight") and named[n].dim() == 1 for n in one_d)  # BN scales count as 1-d
    assert (decayed["weight_decay"], biases["weight_decay"], decayed["lr"], biases["lr"]) == (0.05, 0.0, 3e-3, 3e-3)


def test_probe_dataset_takes_the_training_side_only_where_the_channels_agree():
    from rtdlib import data
    from rtdlib.config import DataCfg
    cfg = DataCfg("digits", train_size=40, test_size=20)
    plain = data.load(cfg)
    assert D.probe_dataset(cfg, "cpu") is plain and D.probe_dataset(cfg, "cpu", (1, 8, 8)) is plain
    big = D.probe_dataset(cfg, "cpu", (1, 16, 16))
    assert torch.equal(big.x_train, data.resize(plain.x_train, 16)) and torch.equal(big.x_test,
                                                                                    data.resize(plain.x_test, 16))
    assert torch.equal(big.y_train, plain.y_train)
    assert D.probe_dataset(cfg, "cpu", (3, 16, 16)) is plain  # other channels: not an image of the same kind


def test_a_dataset_by_path_reports_the_statistics_it_was_normalized_with(stripes_data):
    from rtdlib import data, owndata
    out = D.distill(tiny_cfg(data=stripes_data, epochs=1, probe_epochs=(), probe_nets=("student",)), device="cpu")
    mean, std = owndata.channel_stats(data.load(stripes_data).x_train.numpy())
    assert out["normalization"] == {"mean": list(mean), "std": list(std)} and std[0] > 0
    assert "normalization" not in D.distill(tiny_cfg(epochs=1, probe_epochs=()), device="cpu")  # a built-in one


def test_nets_come_from_their_documented_seeds_and_the_teacher_is_frozen():
    """Teacher from seed 2s, the independent init from 2s + 1: seed s's init is never seed s + 1's teacher."""
    from rtdlib import models
    cfg = tiny_cfg(seed=1, alpha=1.0)  # α = 1: the student is the independent init itself
    teacher, student, _ = D.make_nets(cfg, 1)
    for net, seed in ((teacher, 2), (student, 3)):
        built = models.build(cfg.model, 1, seed=seed)
        assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), built.state_dict().values())), seed
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    given = models.build(cfg.model, 1, seed=7).state_dict()  # e.g. a distilled student as the next teacher
    loaded = D.make_nets(cfg, 1, teacher_state=given)[0]
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in given.items())


def test_distilling_from_a_given_teacher_state(tmp_path):
    from rtdlib import models
    cfg = tiny_cfg(epochs=1, probe_epochs=())
    given = models.build(cfg.model, 1, seed=7).state_dict()
    r = Store(tmp_path).get_or_run("distill", cfg, lambda c, run: D.distill(c, run, device="cpu", teacher_state=given))
    assert all(torch.equal(r.load("teacher")[k], v) for k, v in given.items())


def test_a_noise_run_is_probed_on_the_clean_data():
    from rtdlib.config import DataCfg
    noisy = tiny_cfg(data=DataCfg("digits", train_size=256, noise=True))
    assert D.probe_data(noisy) == DataCfg("digits", train_size=256, noise=False)
    other = DataCfg("digits", train_size=100)
    assert D.probe_data(replace(noisy, probe_data=other)) is other


def test_history_rows_are_the_means_of_their_batches_by_hand(monkeypatch):
    """Epoch 0: the objective over the first EPOCH0_BATCHES batches of epoch 1's order; every epoch after: the
    mean of its steps' losses, here 100 images in batches of 32 (3 steps, the partial batch dropped) and, kept,
    4 steps; each row's keys."""
    from rtdlib import data
    from rtdlib.config import DataCfg
    for drop_last, steps in ((True, 3), (False, 4)):
        seen = []
        real = D.distill_loss
        monkeypatch.setattr(D, "distill_loss", lambda s, t, *a: seen.append(real(s, t, *a)) or seen[-1])
        cfg = tiny_cfg(data=DataCfg("digits", train_size=100, test_size=50), batch_size=32, epochs=2,
                       probe_epochs=(), drop_last=drop_last)
        out = D.distill(cfg, device="cpu")
        monkeypatch.setattr(D, "distill_loss", real)
        assert out["steps_per_epoch"] == steps and len(seen) == steps + 2 * steps  # epoch 0 sees every batch
        h = out["history"]
        assert [sorted(r) for r in h] == [["dist_init", "dist_teacher", "epoch", "kl", "loss", "teacher_entropy"]] * 3
        for epoch, batch_values in ((0, seen[:steps]), (1, seen[steps:2 * steps]), (2, seen[2 * steps:])):
            for k, key in enumerate(("loss", "kl", "teacher_entropy")):
                mean = sum(v[k].item() for v in batch_values) / steps
                assert h[epoch][key] == pytest.approx(mean, rel=1e-6), (drop_last, epoch, key)
        ds = data.load(cfg.data)  # epoch 0 by hand, on fresh nets and epoch 1's batches
        teacher, student, _ = D.make_nets(cfg, 1)
        with torch.no_grad():
            by_hand = [D.distill_loss(student.train()(ds.normalize(ds.x_train[i])), teacher(ds.normalize(ds.x_train[i])))
                       for i in data.batch_indices(100, 32, cfg.seed, 1, drop_last=drop_last)]
        assert h[0]["loss"] == pytest.approx(sum(v[0].item() for v in by_hand) / steps, rel=1e-6)


def test_measuring_epoch_0_leaves_training_unchanged(monkeypatch):
    """Epoch 0 is measured on a deep copy in train mode: the student's BN statistics are not touched by it (they
    matter only in eval mode, so the student is compared when it is probed, buffers included)."""
    cfg = tiny_cfg(epochs=1, probe_epochs=(1,), probe_nets=("student",))
    real, states = D.probe_rows, []
    monkeypatch.setattr(D, "probe_rows", lambda *a: states.append(copy.deepcopy(a[3].state_dict())) or real(*a))
    few = D.distill(cfg, device="cpu")
    monkeypatch.setattr(D, "EPOCH0_BATCHES", 1)
    one = D.distill(cfg, device="cpu")
    assert few["history"][0] != one["history"][0]  # epoch 0 did see 4 batches, then 1
    assert few["history"][1] == one["history"][1] and few["probes"] == one["probes"]
    (a, b) = states
    assert all(torch.equal(a[k], b[k]) for k in a) and any("running_mean" in k for k in a)


def test_probes_inside_an_epoch_read_the_student_after_exactly_their_steps(monkeypatch):
    """Probe steps 2 (inside epoch 1) and 4 (its last step, probed once as the epoch's end), with a BN net whose
    recalibrated student is probed only at the end of the run."""
    calls, at_probe = [], []
    real_loss, real_rows = D.distill_loss, D.probe_rows
    monkeypatch.setattr(D, "distill_loss", lambda *a: calls.append(1) or real_loss(*a))
    monkeypatch.setattr(D, "probe_rows", lambda *a: at_probe.append((a[5], len(calls))) or real_rows(*a))
    cfg = tiny_cfg(epochs=2, probe_epochs=(1,), probe_steps=(2, 4), probe_nets=("student", "student_bnrecal"))
    out = D.distill(cfg, device="cpu")
    epoch0 = min(D.EPOCH0_BATCHES, 4)
    assert at_probe == [(2, epoch0 + 2), (4, epoch0 + 4)]  # after exactly 2 and 4 training steps
    rows = [(r["step"], r["net"]) for r in out["probes"] if r["probe"] == "linear"]
    assert rows == [(2, "student"), (4, "student")]  # no second probe at step 4, no recalibrated copy before the end
    end = D.distill(replace(cfg, probe_epochs=(2,), probe_steps=()), device="cpu")
    assert [r["net"] for r in end["probes"] if r["probe"] == "linear"] == ["student", "student_bnrecal"]


def test_probe_rows_by_hand_for_recalibrated_nets_and_any_order_of_names():
    """teacher_bnrecal is the teacher with BN statistics re-estimated on the probe set, probed; without BN the
    recalibrated names are skipped whatever their place in the list."""
    from rtdlib.probe import recalibrate_bn
    cfg = tiny_cfg(epochs=1, probe_epochs=(1,), probe_nets=("teacher_bnrecal", "student_bnrecal"))
    out = D.distill(cfg, device="cpu")
    teacher = D.make_nets(cfg, 1)[0]
    ds = D.probe_dataset(D.probe_data(cfg), "cpu")
    recal = recalibrate_bn(teacher, ds.x_train, ds.normalize)
    by_hand = probe_all(features(recal, ds.x_train, ds.normalize), ds.y_train, features(recal, ds.x_test, ds.normalize),
                        ds.y_test, 10, cfg.probe)
    assert {r["probe"]: r["acc"] for r in out["probes"] if r["net"] == "teacher_bnrecal"} == by_hand
    plain = probe_all(features(teacher, ds.x_train, ds.normalize), ds.y_train,
                      features(teacher, ds.x_test, ds.normalize), ds.y_test, 10, cfg.probe)
    assert by_hand != plain  # recalibration changes what the probes see
    no_bn = replace(cfg, probe_nets=("teacher_bnrecal", "student_bnrecal", "student"), **{"model.norm": "none"})
    assert {r["net"] for r in D.distill(no_bn, device="cpu")["probes"]} == {"student"}
    early = replace(cfg, probe_epochs=(0,), probe_nets=("student_bnrecal", "student"))  # not the final epoch
    assert {r["net"] for r in D.distill(early, device="cpu")["probes"]} == {"student"}


def test_remembered_probes_are_kept_apart_by_dataset_and_the_input_is_probed_once(monkeypatch):
    real, raw = D.raw_features, []
    monkeypatch.setattr(D, "raw_features", lambda *a, **k: raw.append(1) or real(*a, **k))
    small = tiny_cfg(epochs=1, probe_epochs=(1,), probe_nets=("input", "teacher"))
    first = D.distill(small, device="cpu")["probes"]
    D.distill(replace(small, alpha=1.0), device="cpu")
    assert len(raw) == 2  # the input's train and test features, once for both runs
    other = replace(small, data=replace(small.data, train_size=200))
    second = D.distill(other, device="cpu")["probes"]
    D.CONSTANT_PROBES.clear()
    fresh = D.distill(other, device="cpu")["probes"]
    assert second == fresh != first  # another dataset: computed anew, not the first dataset's rows


def test_probes_use_the_training_inputs_side(monkeypatch):
    """Trained on 16 x 16 images and probed on a dataset of 8 x 8 ones: the probe images are resized to 16."""
    from rtdlib.config import DataCfg
    seen, real = [], D.Prober
    monkeypatch.setattr(D, "Prober", lambda ds, *a: seen.append(ds.shape) or real(ds, *a))
    cfg = tiny_cfg(data=DataCfg("digits", train_size=128, image_size=16), probe_data=DataCfg("digits", train_size=128),
                   epochs=1, probe_epochs=(), probe_nets=("student",))
    D.distill(cfg, device="cpu")
    assert seen == [(1, 16, 16)]


def test_bf16_autocast_asks_for_bfloat16(monkeypatch):
    """CUDA's default autocast type is float16: the training step names bfloat16 itself."""
    asked, real = [], torch.autocast
    monkeypatch.setattr(torch, "autocast", lambda *a, **kw: asked.append(kw.get("dtype")) or real(*a, **kw))
    out = D.distill(tiny_cfg(epochs=1, probe_epochs=(), precision="bf16"), device="cpu")
    assert out["precision"] == "bf16" and set(asked) == {torch.bfloat16} and len(asked) == out["steps_per_epoch"]
    assert sorted(out) == ["history", "init", "precision", "probes", "steps_per_epoch"]
    assert out["init"] == D.make_nets(tiny_cfg(), 1)[2]
