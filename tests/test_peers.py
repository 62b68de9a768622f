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
    assert torch.allclose(t[0], (out[1] + out[2] + out[3]) / 3)


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


@pytest.mark.parametrize("rule, loss, weight", [("mean", "ce", 1.0), ("random_roles", "mse", 0.5), ("none", "ce", 0.0)])
def test_batched_and_loop_compute_the_same_steps(rule, loss, weight):
    c = cfg(rule=rule, loss=loss, consensus_weight=weight)
    x = torch.randn(3, 16, 1, 8, 8) * 2 + 1  # BN batch statistics differ clearly from the initial ones
    runs = {}
    for path in ("batched", "loop"):
        group, anchors, opt, _ = P.setup(P.PeersCfg(**{**c.__dict__, "path": path}), 1, "cpu")
        gen = P.role_generator(c)
        losses, first = [], None
        for xb in x:
            losses.append(P.step(group, anchors, xb, c, opt, P.draw_roles(c.k, gen) if rule == "random_roles" else None))
            first = first or grads(group)
        runs[path] = (torch.stack(losses), first, group.state_dicts())
    (lb, gb, sb), (ll, gl, sl) = runs["batched"], runs["loop"]
    assert torch.allclose(lb, ll, rtol=1e-5, atol=1e-6)
    init = [P.build_net(c, 1, i).state_dict() for i in range(c.k)]
    for i in range(c.k):
        for name, g in gl[i].items():  # the first step's gradients agree to float rounding
            assert (gb[i][name] - g).abs().max() <= 1e-4 * g.abs().max() + 1e-9, name
        # Adam turns rounding noise in exactly-zero gradients (e.g. a BN bias feeding a ReLU that is off on the
        # whole batch) into steps of size lr; over the whole network the updated weights agree closely
        diff = torch.cat([(sb[i][n].double() - v.double()).abs().flatten() for n, v in sl[i].items()])
        assert diff.max() <= 1.01 * c.lr * len(x) and diff.mean() <= 0.01 * c.lr
        for name, v in sl[i].items():
            if v.dtype.is_floating_point:  # every tensor moved, the BN running statistics too
                assert (v.double() - init[i][name].double()).abs().max() > 1e-3, name
        assert sl[i]["encoder.body.1.num_batches_tracked"].item() == 3
        assert sb[i]["encoder.body.1.num_batches_tracked"].item() == 3
        assert torch.allclose(sb[i]["encoder.body.1.running_var"], sl[i]["encoder.body.1.running_var"], rtol=1e-5)


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
    (dict(k=0), "group size k = 0"),
    (dict(rule="vote"), "unknown consensus rule 'vote'"),
    (dict(loss="kl"), "unknown consensus loss 'kl'"),
    (dict(k=1), "needs a group of k >= 2"),
    (dict(rule="none", consensus_weight=0.5), "needs consensus_weight = 0"),
    (dict(consensus_weight=0.0), "use rule 'none'"),
    (dict(consensus_weight=1.5), "consensus_weight = 1.5 is outside"),
])
def test_bad_settings_are_one_line_errors(kw, message):
    with pytest.raises(ConfigError, match=message) as e:
        cfg(**kw)
    assert "\n" not in str(e.value)


def test_mismatched_architectures_are_rejected():
    nets = [P.build_net(cfg(), 1, 0), P.build_net(cfg(model=ModelCfg("small_vgg", "batch", 6, 64, 32, 16)), 1, 1)]
    with pytest.raises(ConfigError, match="network 1 of the group differs") as e:
        P.make_group(nets, "batched")
    assert "\n" not in str(e.value)


def test_tiny_end_to_end_run_probes_every_network(store):
    c = cfg(k=2, rule="none", consensus_weight=0.0, epochs=2, baselines=True)
    r = store.get_or_run("peers", c, P.train_peers)
    h, probes = r.metrics["history"], r.metrics["probes"]
    assert [row["epoch"] for row in h] == [1, 2] and h[-1]["anchor"] > 0 and h[-1]["peer"] == 0
    assert r.metrics["path"] == "loop"  # "auto" with k = 2
    got = {(p["net"], p["index"], p["probe"]) for p in probes}
    assert got == {(n, i, pr) for pr in ("linear", "knn") for n, i in
                   [("peer", 0), ("peer", 1), ("init", 0), ("init", 1), ("init_bnrecal", 0), ("init_bnrecal", 1),
                    ("input", -1)]}
    assert all(0 <= p["acc"] <= 1 for p in probes) and max(p["acc"] for p in probes) > 0.5  # digits: far above chance
    saved = r.load("peers")
    assert len(saved) == 2 and not torch.equal(saved[0]["encoder.body.0.weight"], saved[1]["encoder.body.0.weight"])


def test_killed_run_resumes_to_identical_numbers(tmp_path, monkeypatch):
    from rtdlib.store import Store
    # the batched path: stacked weights, buffers and AdamW state; random roles; anchors; BN
    c = cfg(k=4, rule="random_roles", consensus_weight=0.5, epochs=3, path="batched")
    clean = Store(tmp_path / "a").get_or_run("peers", c, P.train_peers)
    resumed, checkpoints = killed_then_resumed(tmp_path / "b", "peers", c, P.train_peers, monkeypatch, kill_epoch=2)
    assert checkpoints == 3  # epochs 1, 2, then the rerun started at epoch 3
    assert resumed.metrics == clean.metrics
    for a, b in zip(resumed.load("peers"), clean.load("peers")):
        assert all(torch.equal(a[k], v) for k, v in b.items())
