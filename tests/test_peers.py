import pytest
import torch

from conftest import TINY_MODEL, killed_then_resumed
from rtdlib import peers as P
from rtdlib.config import ConfigError, DataCfg, ModelCfg, ProbeCfg


def cfg(**kw) -> P.PeersCfg:
    base = dict(data=DataCfg("digits", train_size=256, test_size=128), model=TINY_MODEL, k=3, epochs=1,
                batch_size=64, probe=ProbeCfg(linear_steps=20, low_label=None), seed=0)
    return P.PeersCfg(**(base | kw))


def test_mean_of_others_excludes_self():
    v = torch.tensor([[1.0, 0.0], [3.0, 2.0], [8.0, 4.0]])
    assert torch.equal(P.mean_of_others(v), torch.tensor([[5.5, 3.0], [4.5, 2.0], [2.0, 1.0]]))
    out = torch.randn(4, 5, 7)
    t, mask = P.consensus_targets(out, "mean", "ce")
    p = out.softmax(-1)
    assert torch.allclose(t[2], (p[0] + p[1] + p[3]) / 3) and torch.equal(mask, torch.ones(4))
    assert torch.allclose(t.sum(-1), torch.ones(4, 5))  # probabilities averaged: still distributions
    t, _ = P.consensus_targets(out, "mean", "mse")
    assert torch.allclose(t[0], (out[1] + out[2] + out[3]) / 3, atol=1e-6)  # (sum - self) / 3: rounding near 0


@pytest.mark.parametrize("k", [2, 3, 4, 5, 8])
def test_random_roles_are_a_valid_seeded_assignment(k):
    draws = [P.draw_roles(k, torch.Generator().manual_seed(1)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1])  # seeded
    g = torch.Generator().manual_seed(1)
    seq = [P.draw_roles(k, g) for _ in range(30)]
    assert len({tuple(s.tolist()) for s in seq}) > 1  # redrawn every step
    for t in seq:
        teachers = set((t == -1).nonzero().flatten().tolist())
        students = (t >= 0).nonzero().flatten().tolist()
        assert len(teachers) == k // 2 and len(students) == k - k // 2
        assert all(t[s].item() in teachers for s in students)  # a student's teacher is a teacher, never itself
    out = torch.randn(k, 3, 5)
    t = seq[0]
    target, mask = P.consensus_targets(out, "random_roles", "mse", t)
    assert torch.equal(mask, (t >= 0).float())
    for s in (t >= 0).nonzero().flatten().tolist():
        assert torch.equal(target[s], out[t[s]])


def grads(group):
    if isinstance(group, P.LoopGroup):
        return [{n: p.grad.clone() for n, p in net.named_parameters()} for net in group.nets]
    return [{n: v.grad[i].clone() for n, v in group.params.items()} for i in range(len(group.state_dicts()))]


@pytest.fixture
def float64():
    """In float32 Adam turns rounding noise in exactly-zero gradients (a BN bias feeding a ReLU that is off on
    the whole batch) into steps of size lr, so two correct paths differ by up to lr in a few weights; in float64
    the noise is far below Adam's eps and the paths must agree to rounding."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("rule, loss, weight", [("mean", "ce", 1.0), ("random_roles", "mse", 0.5),
                                                ("random_roles", "ce", 1.0), ("none", "ce", 0.0)])
def test_batched_and_loop_compute_the_same_steps(rule, loss, weight, float64):
    c = cfg(rule=rule, loss=loss, consensus_weight=weight, weight_decay=0.01)
    x = torch.randn(3, 16, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 + 1  # BN statistics move clearly
    gen = P.role_generator(c)
    roles = [P.draw_roles(c.k, gen) if rule == "random_roles" else None for _ in x]
    runs = {}
    for path in ("batched", "loop"):
        group, anchors, opt, _ = P.setup(P.PeersCfg(**{**c.__dict__, "path": path}), 1, "cpu")
        losses, first = [], None
        for xb, t in zip(x, roles):
            losses.append(P.step(group, anchors, xb, c, opt, t))
            first = first or grads(group)
        runs[path] = (torch.stack(losses), first, group.state_dicts())
    (lb, gb, sb), (ll, gl, sl) = runs["batched"], runs["loop"]
    assert torch.allclose(lb, ll, rtol=1e-10, atol=0)
    init = [P.build_net(c, 1, i).state_dict() for i in range(c.k)]
    student_steps = [sum(t is None or t[i].item() >= 0 for t in roles) for i in range(c.k)]
    assert rule != "random_roles" or min(student_steps) < len(x)  # some network taught in some step
    for i in range(c.k):
        for name, g in gl[i].items():  # the first step's gradients agree to rounding
            assert torch.allclose(gb[i][name], g, rtol=1e-9, atol=1e-12), name
        for name, v in sl[i].items():  # so do the weights and BN statistics after three steps
            assert torch.allclose(sb[i][name], v, rtol=1e-9, atol=1e-6 * c.lr), name
            if v.dtype.is_floating_point and student_steps[i]:  # every tensor moved, the BN statistics too
                assert (v - init[i][name]).abs().max() > 0.5 * c.lr, name  # an Adam step is ~lr per element
        for s in (sl, sb):  # BN counts only the batches the network was a student on
            assert s[i]["encoder.body.1.num_batches_tracked"].item() == student_steps[i]


def training_state(group, opt):
    """Per network {name: tensor}: parameters, buffers and AdamW moments, read independently of net_state."""
    if isinstance(group, P.LoopGroup):
        named = [dict(net.named_parameters()) for net in group.nets]
        return [{**{k: v.clone() for k, v in net.state_dict().items()},
                 **{f"{n}/{m}": opt.state[p][m].clone() for n, p in ps.items() if p in opt.state for m in P.MOMENTS}}
                for net, ps in zip(group.nets, named)]
    return [{**sd, **{f"{n}/{m}": opt.state[p][m][i].clone() for n, p in group.params.items() if p in opt.state
                      for m in P.MOMENTS}} for i, sd in enumerate(group.state_dicts())]


@pytest.mark.parametrize("path", ["batched", "loop"])
@pytest.mark.parametrize("weight", [1.0, 0.5])
def test_teachers_do_not_change_in_their_step(path, weight):
    c = cfg(k=4, rule="random_roles", consensus_weight=weight, weight_decay=0.01, path=path)
    group, anchors, opt, _ = P.setup(c, 1, "cpu")
    x = torch.randn(2, 16, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 + 1
    # step 1: nets 0, 1 teach (no moments yet); step 2: nets 2, 3 teach, after moving (and gaining momentum) in step 1
    for xb, teacher_of in zip(x, [torch.tensor([-1, -1, 0, 1]), torch.tensor([2, 3, -1, -1])]):
        before = training_state(group, opt)
        P.step(group, anchors, xb, c, opt, teacher_of)
        after = training_state(group, opt)
        for i in range(c.k):
            if teacher_of[i] < 0:  # bit-identical: weights, BN buffers and moments (zero before the first step)
                for name, v in after[i].items():
                    assert torch.equal(v, before[i].get(name, torch.zeros_like(v))), (i, name)
            else:
                moved = [n for n, v in after[i].items() if n in before[i] and not torch.equal(v, before[i][n])]
                assert "encoder.body.0.weight" in moved and "encoder.body.1.running_mean" in moved, i
                assert all(v.abs().sum() > 0 for n, v in after[i].items() if n.endswith("weight/exp_avg_sq")), i
    # AdamW's step counter (bias correction) counts every step of the group, teaching steps included
    assert len(opt.state) == len(group.parameters()) and all(st["step"].item() == 2 for st in opt.state.values())


def test_auto_path_batches_only_where_it_was_measured_faster():
    from rtdlib.config import replace
    small = cfg(k=4)
    assert P.resolve_path(small, "cpu") == "batched"
    assert P.resolve_path(replace(small, k=2), "cpu") == "loop"
    assert P.resolve_path(replace(small, **{"model.arch": "resnet18"}), "cpu") == "loop"
    assert P.resolve_path(replace(small, k=2), "cuda") == "batched"
    assert P.resolve_path(replace(small, path="loop"), "cuda") == "loop"


def test_groups_are_seeded_and_distinct():
    a, b = P.build_net(cfg(), 1, 0), P.build_net(cfg(), 1, 1)
    assert torch.equal(next(a.parameters()), next(P.build_net(cfg(), 1, 0).parameters()))
    assert not torch.equal(next(a.parameters()), next(b.parameters()))
    mse = P.build_net(cfg(loss="mse"), 1, 0)  # same encoder init, no head
    assert torch.equal(mse.encoder.body[0].weight, a.encoder.body[0].weight)
    assert not any("head" in n for n, _ in mse.named_parameters())


@pytest.mark.parametrize("kw, message", [
    (dict(k=0), "group size k = 0 must be an integer in [1, 999]"),
    (dict(k=1000), "group size k = 1000 must be an integer in [1, 999]"),
    (dict(k=True), "group size k = True must be an integer in [1, 999]"),
    (dict(rule="vote"), "unknown consensus rule 'vote'"),
    (dict(loss="kl"), "unknown consensus loss 'kl'"),
    (dict(path="gpu"), "unknown path 'gpu'"),
    (dict(rule="mean", k=1), "rule 'mean' needs a group of k >= 2 peers, got k = 1"),
    (dict(rule="none", consensus_weight=0.5), "rule 'none' is the independent control and needs consensus_weight = 0, "
                                              "not 0.5"),
    (dict(rule="mean", consensus_weight=0.0), "consensus_weight = 0 gives rule 'mean' no peer signal; use rule 'none' "
                                              "(the independent control)"),
    (dict(consensus_weight=1.5), "consensus_weight = 1.5 is outside"),
    (dict(epochs=-1), "epochs = -1 is outside [0, 100000]"),
    (dict(epochs=100_001), "epochs = 100001 is outside [0, 100000]"),
    (dict(batch_size=0), "batch_size = 0 is outside [1, 1048576]"),
    (dict(batch_size=(1 << 20) + 1), "batch_size = 1048577 is outside [1, 1048576]"),
    (dict(lr=0.0), "lr = 0.0 is outside (0.0, 10.0]"),
    (dict(lr=10.5), "lr = 10.5 is outside (0.0, 10.0]"),
    (dict(weight_decay=10.5), "weight_decay = 10.5 is outside [0.0, 10.0]"),
    (dict(probe_epochs=(0,)), "probe epoch = 0 is outside [1, 1]"),
    (dict(probe_epochs=(2,)), "probe epoch = 2 is outside [1, 1]"),
])
def test_bad_settings_are_one_line_errors(kw, message):
    with pytest.raises(ConfigError) as e:
        cfg(**kw)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_settings_at_their_bounds_are_accepted():
    for kw in (dict(k=999), dict(rule="none", consensus_weight=0.0, k=1), dict(epochs=0), dict(epochs=100_000),
               dict(batch_size=1), dict(batch_size=1 << 20), dict(lr=10.0), dict(weight_decay=10.0),
               dict(weight_decay=0.0)):
        c = cfg(**kw)
        assert all(getattr(c, key) == value for key, value in kw.items())


def test_mismatched_architectures_are_rejected():
    nets = [P.build_net(cfg(), 1, 0), P.build_net(cfg(model=ModelCfg("small_vgg", "batch", 6, 64, 32, 16)), 1, 1)]
    with pytest.raises(ConfigError) as e:
        P.make_group(nets, "batched")
    assert str(e.value) == ("network 1 of the group differs from network 0 in 'encoder.body.0.weight'; "
                            "a group needs one architecture")  # its first layer: 4 vs 6 channels


def test_tiny_end_to_end_run_probes_every_network(store):
    c = cfg(k=2, rule="none", consensus_weight=0.0, epochs=2, baselines=True)
    r = store.get_or_run("peers", c, P.train_peers)
    h, probes = r.metrics["history"], r.metrics["probes"]
    assert [row["epoch"] for row in h] == [1, 2] and h[-1]["anchor"] > 0 and h[-1]["peer"] == 0
    assert r.metrics["path"] == "loop"  # "auto" with k = 2
    got = {(p["epoch"], p["net"], p["index"], p["probe"]) for p in probes}
    assert got == {(2 if n == "peer" else 0, n, i, pr) for pr in ("linear", "knn") for n, i in
                   [("peer", 0), ("peer", 1), ("init", 0), ("init", 1), ("init_bnrecal", 0), ("init_bnrecal", 1),
                    ("input", -1)]}
    assert all(0 <= p["acc"] <= 1 for p in probes) and max(p["acc"] for p in probes) > 0.5  # digits: far above chance
    saved = r.load("peers")
    assert len(saved) == 2 and not torch.equal(saved[0]["encoder.body.0.weight"], saved[1]["encoder.body.0.weight"])


def test_killed_run_resumes_to_identical_numbers(tmp_path, monkeypatch):
    from rtdlib.store import Store
    # the batched path: stacked weights, buffers and AdamW state; random roles; anchors; BN
    c = cfg(k=4, rule="random_roles", consensus_weight=0.5, epochs=3, path="batched", probe_epochs=(1, 2))
    clean = Store(tmp_path / "a").get_or_run("peers", c, P.train_peers)
    resumed, checkpoints = killed_then_resumed(tmp_path / "b", "peers", c, P.train_peers, monkeypatch, kill_epoch=2)
    assert checkpoints == 3  # epochs 1, 2, then the rerun started at epoch 3
    assert resumed.metrics == clean.metrics
    for a, b in zip(resumed.load("peers"), clean.load("peers")):
        assert all(torch.equal(a[k], v) for k, v in b.items())


@pytest.mark.parametrize("path", ["loop", "batched"])
def test_probes_after_epochs_land_there_and_leave_training_unchanged(path):
    c = cfg(k=2, epochs=3, path=path)
    plain = P.train_peers(c, device="cpu")
    probed = P.train_peers(cfg(k=2, epochs=3, path=path, probe_epochs=(1, 2, 3)), device="cpu")
    assert probed["history"] == plain["history"]
    assert [p for p in probed["probes"] if p["epoch"] == 3] == plain["probes"]  # the last epoch's: probed once
    assert sorted({(p["epoch"], p["index"]) for p in probed["probes"]}) == [(e, i) for e in (1, 2, 3) for i in (0, 1)]
    early = {(p["index"], p["probe"]): p["acc"] for p in probed["probes"] if p["epoch"] == 1}
    assert early != {(p["index"], p["probe"]): p["acc"] for p in plain["probes"]}  # epoch 1's nets, not the last


def test_training_redraws_the_seeded_roles_every_step(store):
    """BN counts a network's student steps (a teacher's buffers are restored); by hand from the rule: each
    step a permutation from the generator seeded seed + ROLE_SEED, its last K - K//2 entries students."""
    c = cfg(k=3, rule="random_roles", seed=3)  # one epoch of 4 steps
    g = torch.Generator().manual_seed(c.seed + P.ROLE_SEED)
    by_hand = [0] * c.k
    for _ in range(4):
        for s in torch.randperm(c.k, generator=g)[c.k // 2:].tolist():
            by_hand[s] += 1
    saved = store.get_or_run("peers", c, P.train_peers).load("peers")
    counts = [sd["encoder.body.1.num_batches_tracked"].item() for sd in saved]
    assert counts == by_hand and len(set(counts)) == 3  # by hand: 3, 1, 4 (seed 0 would give 3, 2, 3)


def test_control_loss_is_the_distillation_of_each_networks_own_eval_mode_init():
    """Rule none, one full batch: the recorded epoch-1 loss is that of the only step, taken at the inits:
    mean over networks of CE(softmax(f_i^0(x)) in eval mode, f_i(x) in train mode), computed by hand."""
    from rtdlib import data
    c = cfg(k=2, rule="none", consensus_weight=0.0, batch_size=256)
    ds = data.load(c.data, "cpu")
    x = ds.normalize(ds.x_train)
    by_hand = []
    with torch.no_grad():
        for i in range(c.k):
            net = P.build_net(c, 1, i)
            target = net.eval()(x).softmax(1)
            by_hand.append(torch.nn.functional.cross_entropy(net.train()(x), target).item())
    (row,) = P.train_peers(c, device="cpu")["history"]
    assert row["anchor"] == pytest.approx(sum(by_hand) / 2, rel=1e-4) == pytest.approx(row["loss"], rel=1e-6)
    assert row["peer"] == 0


def test_divergences_by_hand():
    out = torch.tensor([[[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 0.0, 0.0]]])  # K = 1 network, B = 2, D = 4
    target = torch.tensor([[[1.0, 0.0, 3.0, 4.0], [2.0, 0.0, 0.0, 0.0]]])
    # mse: mean over d, then over the batch: ((0 + 4 + 0 + 4) / 4 + 4 / 4) / 2
    assert P.divergence(out, target, "mse").tolist() == [1.5]
    p = torch.tensor([[[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]])
    by_hand = (-(0.5 * out[0, 0].log_softmax(0)[:2]).sum() + torch.log(torch.tensor(4.0))) / 2  # row 2: ln 4
    assert torch.allclose(P.divergence(out, p, "ce"), by_hand.view(1))


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_random_roles_step_counts_only_the_students_terms_by_hand(loss):
    """K = 2, net 0 teaches net 1: the step's logged peer and anchor terms are net 1's divergences from net 0 and
    from its own eval-mode init, halved (a teacher counts 0), and the loss mixes them by lambda."""
    import copy
    c = cfg(k=2, rule="random_roles", loss=loss, consensus_weight=0.25, path="loop")
    group, anchors, opt, inits = P.setup(c, 1, "cpu")
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = [copy.deepcopy(n).train()(x) for n in group.nets]
        init0, init1 = (copy.deepcopy(n).eval()(x) for n in inits)

    def d(a, t):
        return P.divergence(a[None], P.as_target(t, loss)[None], loss).item()
    peer, anchor = d(out[1], out[0]) / 2, d(out[1], init1) / 2
    got = P.step(group, anchors, x, c, opt, torch.tensor([-1, 0])).tolist()
    assert got[1] == pytest.approx(peer, rel=1e-5) and got[2] == pytest.approx(anchor, rel=1e-5)
    assert got[0] == pytest.approx(0.25 * peer + 0.75 * anchor, rel=1e-5)
    assert d(out[0], init0) > 1e-4  # the teacher's own anchor term, which must not count, is not zero


@pytest.mark.parametrize("path", ["loop", "batched"])
def test_probes_after_an_epoch_are_those_of_the_networks_after_that_epoch(path):
    """Epoch 1's probes inside a 2-epoch run equal the final probes of a 1-epoch run (same data order per epoch)."""
    one = P.train_peers(cfg(k=2, epochs=1, path=path), device="cpu")["probes"]
    two = P.train_peers(cfg(k=2, epochs=2, path=path, probe_epochs=(1,)), device="cpu")["probes"]
    assert {p["net"] for p in two} == {"peer"}
    assert [p for p in two if p["epoch"] == 1] == one


def test_history_rows_are_the_epochs_mean_step_terms(monkeypatch):
    """step returns (loss, peer, anchor, disagreement) summed over the batch's networks; a row holds their
    means over the epoch's 4 batches, by hand."""
    terms = iter(torch.tensor([1.0, 2.0, 3.0, 4.0]) * b for b in (1, 2, 3, 6))
    monkeypatch.setattr(P, "step", lambda *a, **kw: next(terms))
    (row,) = P.train_peers(cfg(k=2, baselines=False), device="cpu")["history"]
    assert row == {"loss": 3.0, "peer": 6.0, "anchor": 9.0, "disagreement": 12.0, "epoch": 1}


def test_a_non_finite_loss_is_one_line_naming_epoch_and_settings(monkeypatch):
    monkeypatch.setattr(P, "step", lambda *a, **kw: torch.tensor([float("nan"), 0.0, 0.0, 0.0]))
    c = cfg(k=2)
    with pytest.raises(P.NonFiniteLoss) as e:
        P.train_peers(c, device="cpu")
    assert str(e.value) == (f"non-finite loss nan at epoch 1 (lr={c.lr}, rule={c.rule}, loss={c.loss}); "
                            f"lower the learning rate")


def test_targets_of_a_rule_without_peer_targets_is_one_line():
    with pytest.raises(ValueError) as e:
        P.consensus_targets(torch.randn(2, 3, 4), "none", "ce")
    assert str(e.value) == "rule 'none' has no peer targets"


def test_the_inputs_probes_are_remembered_per_dataset_not_per_shape():
    """Two subsets of digits of one shape: the second run's input probes are its own (as computed afresh)."""
    from rtdlib import distill
    first = P.train_peers(cfg(k=2, baselines=True), device="cpu")
    other = cfg(k=2, baselines=True, data=DataCfg("digits", train_size=256, test_size=128, subset_seed=1))
    second = P.train_peers(other, device="cpu")
    distill.CONSTANT_PROBES.clear()
    fresh = P.train_peers(other, device="cpu")
    inputs = lambda r: [p for p in r["probes"] if p["net"] == "input"]  # noqa: E731
    assert inputs(second) == inputs(fresh) != inputs(first)


def test_every_probe_row_is_that_of_its_own_network(store):
    """Final peers: the saved networks; inits: the networks as built, plain and BN-recalibrated; the input:
    the flattened images. Each probed here again by hand with the same probe settings."""
    from rtdlib import data
    from rtdlib.distill import Prober
    c = cfg(k=2, baselines=True)
    entry = store.get_or_run("peers", c, P.train_peers)
    rows = entry.metrics["probes"]
    ds = data.load(c.data, "cpu")
    cl = c.channels_last and P.resolve_path(c, torch.device("cpu")) == "loop"
    fmt = torch.channels_last if cl else torch.contiguous_format
    prober = Prober(ds, c.data, c.probe, cl)

    def of(kind, i):
        return {p["probe"]: p["acc"] for p in rows if (p["net"], p["index"]) == (kind, i)}

    for i, sd in enumerate(entry.load("peers")):
        net = P.build_net(c, ds.shape[0], i).to(memory_format=fmt)
        net.load_state_dict(sd)
        init = P.build_net(c, ds.shape[0], i).to(memory_format=fmt).eval()
        assert of("peer", i) == prober("peer", net.eval()) != of("init", i)
        assert of("init", i) == prober("init", init) and of("init_bnrecal", i) == prober("init_bnrecal", init)
    assert of("input", -1) == prober("input", None) != of("init", 0)
    assert entry.metrics["steps_per_epoch"] == 256 // 64


@pytest.mark.parametrize("path, kind", [("batched", "BatchedGroup"), ("loop", "LoopGroup")])
def test_setup_builds_the_chosen_path_with_the_configs_optimizer(path, kind):
    c = cfg(k=2, path=path, lr=3e-4, weight_decay=0.02, loss="ce")
    group, _, opt, inits = P.setup(c, 1, torch.device("cpu"))
    assert type(group).__name__ == kind
    assert (opt.param_groups[0]["lr"], opt.param_groups[0]["weight_decay"]) == (3e-4, 0.02)
    assert type(inits[0].head).__name__ != "Identity"  # "ce" keeps the projector head ("mse" drops it: above)


@pytest.mark.parametrize("loss, k", [("ce", 3), ("mse", 3), ("mse", 2)])
def test_disagreement_is_each_networks_divergence_from_the_others_mean_by_hand(loss, k):
    """The diagnostic of every rule (here the control): K outputs at the step's start; each network's
    cross-entropy to (or squared distance from) the mean of the others, averaged over batch and networks."""
    c = cfg(k=k, loss=loss, rule="none", consensus_weight=0.0)
    group, anchors, opt, _ = P.setup(c, 1, torch.device("cpu"))
    x = torch.randn(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = group(x).double()  # train mode: batch statistics, as inside the step
    terms = P.step(group, anchors, x, c, opt)
    if loss == "ce":
        p = out.softmax(-1)
        others = (p.sum(0) - p) / (k - 1)
        by_hand = -(others * out.log_softmax(-1)).sum(-1).mean()
    else:
        by_hand = (out - (out.sum(0) - out) / (k - 1)).pow(2).mean()
    assert terms[3].item() == pytest.approx(by_hand.item(), rel=1e-5) and terms[3].item() > 0


def test_a_lone_network_has_no_disagreement():
    c = cfg(k=1, rule="none", consensus_weight=0.0)
    group, anchors, opt, _ = P.setup(c, 1, torch.device("cpu"))
    assert P.step(group, anchors, torch.randn(8, 1, 8, 8), c, opt)[3].item() == 0.0
