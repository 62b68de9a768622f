"""Linear mode connectivity: interpolation end points, barrier arithmetic, bad input."""
from dataclasses import replace

import pytest
import torch

from rtdlib import connectivity as C
from rtdlib import supervised as S
from rtdlib.config import ConfigError
from rtdlib.probe import recalibrate_bn
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


@pytest.mark.parametrize("bn", ["interpolate", "recalibrate"])
def test_end_points_reproduce_the_trained_networks(store, bn):
    cfg = C.ConnectivityCfg(train=sup_cfg(epochs=2, save_epochs=()), orders=(0, 1), gammas=3, bn=bn)
    out = store.get_or_run("connectivity", cfg, C.connectivity).metrics
    (pair,) = out["pairs"]
    assert out["bn"] == bn and [c["gamma"] for c in out["curves"]] == [0.0, 0.5, 1.0]
    ds, net, cl = S.prepare(cfg.train, torch.device("cpu"), store)
    for order, err in ((0, pair["error_i"]), (1, pair["error_j"])):
        run = store.get("supervised", replace(cfg.train, seed=order))
        net.load_state_dict(run.load("final"))
        if bn == "recalibrate":
            net = recalibrate_bn(net, ds.x_train, ds.normalize, channels_last=cl)
        else:
            assert err == pytest.approx(1 - run.metrics["test_acc"], abs=1e-9)
        assert err == pytest.approx(1 - S.accuracy(net, ds.x_test, ds.y_test, ds.normalize, cl), abs=1e-9)
    assert pair["barrier"] == pytest.approx(C.barrier([c["error"] for c in out["curves"]]))
    # the runs differ only in data order, and they do differ
    w0, w1 = (store.get("supervised", replace(cfg.train, seed=o)).load("final")["fc.weight"] for o in (0, 1))
    assert not torch.equal(w0, w1)


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
])
def test_bad_connectivity_config_is_one_line(kw, message):
    with pytest.raises(ConfigError) as e:
        C.ConnectivityCfg(train=sup_cfg(), **{"orders": (0, 1), **kw})
    assert message in str(e.value) and "\n" not in str(e.value)
