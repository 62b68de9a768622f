"""Linear mode connectivity: interpolation end points, barrier arithmetic, bad input."""
import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from rtdlib import connectivity as C
from rtdlib import stats
from rtdlib import supervised as S
from rtdlib.config import ConfigError
from test_lottery import sup_cfg, tiny_net


def test_interpolation_is_linear_and_keeps_integer_buffers_of_the_nearer_end():
    a, b = tiny_net().state_dict(), tiny_net(replace(sup_cfg(), distill=replace(sup_cfg().distill, seed=1))).state_dict()
    mid = C.interpolate(a, b, 0.25)
    k = "fc.weight"
    assert torch.allclose(mid[k], 0.25 * a[k] + 0.75 * b[k])
    assert all(torch.equal(C.interpolate(a, b, 1.0)[n], a[n]) and torch.equal(C.interpolate(a, b, 0.0)[n], b[n])
               for n in a)
    counters = [n for n in a if not a[n].is_floating_point()]
    assert counters and all(mid[n] is b[n] for n in counters)


def test_barrier_is_max_minus_mean_of_end_points():
    assert C.barrier([0.1, 0.5, 0.3]) == pytest.approx(0.5 - 0.2)
    assert C.barrier([0.2, 0.1, 0.2]) == pytest.approx(0.0)


def bn_stats_by_hand(net, x, normalize) -> dict:
    """{BN buffer name: value}: per-channel mean and unbiased variance of every BN layer's input over
    all of x, from one train-mode forward pass (its own code path, not rtdlib.probe.recalibrate_bn)."""
    net = copy.deepcopy(net).train()
    out = {}
    for name, m in net.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            def hook(mod, inp, _, name=name):
                dims = [0, *range(2, inp[0].dim())]
                out[f"{name}.running_mean"] = inp[0].mean(dims)
                out[f"{name}.running_var"] = inp[0].var(dims, unbiased=True)
            m.register_forward_hook(hook)
    with torch.no_grad():
        net(normalize(x))
    return out


def close(sd, expected) -> bool:
    return all(torch.allclose(sd[k], v, rtol=1e-4, atol=1e-5) for k, v in expected.items())


@pytest.mark.parametrize("bn", ["interpolate", "recalibrate"])
def test_path_points_use_the_recorded_bn_statistics(store, monkeypatch, bn):
    """gamma = 1 and 0 are the two trained networks; their BN statistics (and those at gamma = 0.5) are
    the trained ones ("interpolate", so the errors are the runs' own test errors) or the statistics of
    the first recal_size training images computed by hand ("recalibrate")."""
    recal = 200  # < the 256 training images (the subset must be honoured) and < one recalibration batch
    cfg = C.ConnectivityCfg(train=sup_cfg(epochs=2, save_epochs=()), orders=(0, 1), gammas=3, bn=bn,
                            recal_size=recal)
    seen, real = [], C.accuracy

    def recording(model, *a, **kw):  # the network each path point is evaluated with
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return real(model, *a, **kw)

    monkeypatch.setattr(C, "accuracy", recording)
    out = store.get_or_run("connectivity", cfg, C.connectivity).metrics
    (pair,) = out["pairs"]
    assert out["bn"] == bn and [c["gamma"] for c in out["curves"]] == [0.0, 0.5, 1.0] and len(seen) == 3
    ds, net, cl = S.prepare(cfg.train, torch.device("cpu"), store)
    runs = {o: store.get("supervised", replace(cfg.train, seed=o)) for o in (0, 1)}
    sd_i, sd_j = runs[0].load("final"), runs[1].load("final")  # theta(gamma) = gamma theta_i + (1 - gamma) theta_j
    midpoint = {k: 0.5 * v + 0.5 * sd_j[k] if v.is_floating_point() else v for k, v in sd_i.items()}  # by hand
    for at, trained, err in ((0, sd_j, pair["error_j"]), (1, midpoint, None),
                             (2, sd_i, pair["error_i"])):
        weights = {k: v for k, v in trained.items() if "running" not in k and "num_batches" not in k}
        assert all(torch.equal(seen[at][k], v) for k, v in weights.items())
        net.load_state_dict(trained)
        if bn == "interpolate":
            assert all(torch.equal(seen[at][k], v) for k, v in trained.items())
            if err is not None:  # an end point is exactly the trained run
                own = runs[0 if at == 2 else 1].metrics["test_acc"]
                assert err == pytest.approx(1 - own, abs=1e-9)
            continue
        by_hand = bn_stats_by_hand(net, ds.x_train[:recal], ds.normalize)
        assert close(seen[at], by_hand)
        assert not close(seen[at], {k: trained[k] for k in by_hand})  # recalibration changed them
        assert not close(seen[at], bn_stats_by_hand(net, ds.x_train, ds.normalize))  # on the subset only
        if err is not None:
            net.load_state_dict({**trained, **by_hand})
            assert err == pytest.approx(1 - S.accuracy(net, ds.x_test, ds.y_test, ds.normalize, cl), abs=1e-9)
    assert pair["barrier"] == pytest.approx(C.barrier([c["error"] for c in out["curves"]]))
    # the runs differ only in data order, and they do differ
    assert not torch.equal(sd_i["fc.weight"], sd_j["fc.weight"])


def test_mismatched_architectures_cannot_be_interpolated():
    wide = replace(sup_cfg(), distill=replace(sup_cfg().distill, model=replace(sup_cfg().distill.model, width=8)))
    with pytest.raises(ValueError, match=r"^cannot interpolate networks of different architectures: .* has shape") as e:
        C.interpolate(tiny_net().state_dict(), tiny_net(wide).state_dict(), 0.5)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kw, message", [
    ({"orders": (3,)}, "must hold at least two distinct data-order seeds"),
    ({"orders": (0, 0, 1)}, "must hold at least two distinct data-order seeds"),
    ({"orders": (1, 2)}, "train.seed = 0 must equal the first order 1"),
    ({"gammas": 1}, "gammas = 1 is outside [2, 10000]"),
    ({"bn": "keep"}, "unknown BN mode 'keep'"),
    ({"recal_size": 0}, "recal_size = 0 is outside [1, 1073741824]"),
    ({"recal_size": (1 << 30) + 1}, "recal_size = 1073741825 is outside [1, 1073741824]"),
])
def test_bad_connectivity_config_is_one_line(kw, message):
    with pytest.raises(ConfigError) as e:
        C.ConnectivityCfg(train=sup_cfg(), **{"orders": (0, 1), **kw})
    assert message in str(e.value) and "\n" not in str(e.value)


def test_config_holds_orders_as_a_tuple_and_takes_recal_sizes_at_its_bounds():
    cfg = C.ConnectivityCfg(train=sup_cfg(), orders=[0, 1])
    assert type(cfg.orders) is tuple and cfg.orders == (0, 1)
    assert [C.ConnectivityCfg(train=sup_cfg(), orders=(0, 1), recal_size=n).recal_size for n in (1, 1 << 30)] == [
        1, 1 << 30]


def test_different_parameter_names_are_named_in_the_one_line_error():
    t = torch.zeros(1)
    with pytest.raises(ValueError) as e:
        C.interpolate({"a": t, "b": t, "c": t, "d": t}, {"a": t, "e": t, "f": t, "g": t}, 0.5)
    assert str(e.value) == "cannot interpolate networks of different architectures: ['b', 'c', 'd'] in only one"


def test_barrier_test_is_one_sided_and_its_wilcoxon_floor_is_attained():
    d = np.array([0.1, 0.3, 0.2, 0.5, 0.3]) - np.array([0.4, 0.5, 0.9, 0.6, 0.7])  # every difference negative
    less, greater = stats.p_directional(d, -1), stats.p_directional(d, 1)
    assert greater == pytest.approx(1 - less) and less < 0.05
    # all differences of one sign is the most extreme exact signed-rank outcome: 1/32 with 5 pairs
    assert stats.p_wilcoxon(d, -1) == pytest.approx(stats.min_wilcoxon_p(5, "less")) == pytest.approx(1 / 32)
    assert stats.p_wilcoxon(d[:4], -1) is None  # 1/16 with 4 pairs: its floor cannot reach 0.05, so not shown
    assert stats.min_wilcoxon_p(4) == pytest.approx(2 / 16)
    assert stats.min_wilcoxon_p(3, "less") > 0.05 > stats.min_wilcoxon_p(5, "less")
    with pytest.raises(ConfigError, match="unknown direction 2; allowed: 1, -1"):
        stats.p_directional(d, 2)
    with pytest.raises(ConfigError, match="number of pairs n = 0 is outside"):
        stats.min_wilcoxon_p(0)


def test_barrier_with_unequal_end_points_by_hand():
    """Frankle et al.'s height: max error on the path minus the mean of the two end points' errors
    (not the largest rise above the straight line between them)."""
    assert C.barrier([0.1, 0.4, 0.2, 0.3]) == pytest.approx(0.4 - 0.2)  # line: 0.1, 0.167, 0.233, 0.3
    assert C.barrier([0.5, 0.2, 0.1]) == pytest.approx(0.5 - 0.3)  # monotone path: max at an end point


def test_interpolation_mixes_bn_running_statistics_like_the_weights():
    a = {"conv.weight": torch.tensor([[1.0, -2.0]]), "bn.weight": torch.tensor([1.0, 1.0]),
         "bn.running_mean": torch.tensor([0.0, 4.0]), "bn.running_var": torch.tensor([1.0, 9.0]),
         "bn.num_batches_tracked": torch.tensor(7)}
    b = {"conv.weight": torch.tensor([[3.0, 2.0]]), "bn.weight": torch.tensor([0.0, 2.0]),
         "bn.running_mean": torch.tensor([8.0, 0.0]), "bn.running_var": torch.tensor([5.0, 1.0]),
         "bn.num_batches_tracked": torch.tensor(3)}
    mid = C.interpolate(a, b, 0.25)  # 0.25 a + 0.75 b, by hand:
    by_hand = {"conv.weight": [[2.5, 1.0]], "bn.weight": [0.25, 1.75], "bn.running_mean": [6.0, 1.0],
               "bn.running_var": [4.0, 3.0]}
    assert all(torch.allclose(mid[k], torch.tensor(v)) for k, v in by_hand.items())
    assert mid["bn.num_batches_tracked"].item() == 3 and C.interpolate(a, b, 0.75)["bn.num_batches_tracked"].item() == 7
    assert C.interpolate(a, b, 0.5)["bn.num_batches_tracked"].item() == 7  # a tie goes to a


def test_runs_that_learn_end_near_zero_error_and_the_barrier_is_the_path_maximum(store, stripes_data):
    """On the stripes (chance error 0.75) both runs classify (nearly) every test image, with their own BN
    statistics and with recalibrated ones; the pair's numbers are those of its curve and of the two runs."""
    train = sup_cfg(data=stripes_data, epochs=2, batch_size=32, save_epochs=())
    cfg = C.ConnectivityCfg(train=train, orders=(0, 1), gammas=3, bn="recalibrate")
    out = store.get_or_run("connectivity", cfg, C.connectivity).metrics
    (p,) = out["pairs"]
    errs = [c["error"] for c in out["curves"]]
    assert p["pair"] == "0-1" and (p["order_i"], p["order_j"]) == (0, 1) and len(errs) == 3
    assert (p["error_j"], p["error_i"]) == (errs[0], errs[-1]) and max(p["error_i"], p["error_j"]) <= 2 / 128
    own = [store.get("supervised", replace(train, seed=o)).metrics["test_acc"] for o in (0, 1)]
    assert (p["own_bn_error_i"], p["own_bn_error_j"]) == (1 - own[0], 1 - own[1]) and min(own) >= 1 - 2 / 128
    assert p["max_error"] == max(errs) and p["barrier"] == max(errs) - (errs[0] + errs[-1]) / 2


def test_every_pair_of_three_runs_has_its_curve_and_the_result_names_the_runs(store, stripes_data):
    """Three data orders: pairs 0-1, 0-2, 1-2 in that order, each with its own gammas, and the hashes of the
    three supervised entries the curves were measured between."""
    train = sup_cfg(data=stripes_data, epochs=1, batch_size=64, save_epochs=())
    out = store.get_or_run("connectivity", C.ConnectivityCfg(train=train, orders=(0, 1, 2), gammas=2,
                                                             bn="interpolate"), C.connectivity).metrics
    assert [(c["pair"], c["gamma"]) for c in out["curves"]] == [
        ("0-1", 0.0), ("0-1", 1.0), ("0-2", 0.0), ("0-2", 1.0), ("1-2", 0.0), ("1-2", 1.0)]
    assert [p["pair"] for p in out["pairs"]] == ["0-1", "0-2", "1-2"] and out["bn"] == "interpolate"
    assert out["runs"] == [store.get("supervised", replace(train, seed=o)).hash for o in (0, 1, 2)]


def test_runs_from_the_distilled_student_write_only_to_the_given_store(store, default_store, stripes_data):
    train = sup_cfg(data=stripes_data, start="student", epochs=1, batch_size=64, save_epochs=())
    store.get_or_run("connectivity", C.ConnectivityCfg(train=train, orders=(0, 1), gammas=2), C.connectivity)
    assert store.get("distill", train.distill) is not None and list(default_store.iterdir()) == []
