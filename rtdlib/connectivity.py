"""Linear mode connectivity (paper Sec. 6, Fig. 9; Frankle et al. 2020's instability analysis).

From one start point (theta_S or theta*_S) b supervised runs are trained that differ only in data
order (same augmentation draws, same schedule). For every pair (i, j) the test error is measured
along theta(gamma) = gamma theta_i + (1 - gamma) theta_j. What happens to BN running statistics at
an interpolated point is a recorded choice: "recalibrate" re-estimates them on the training images
(rtdlib.probe.recalibrate_bn; interpolated statistics do not describe the interpolated network),
"interpolate" mixes them like the weights. Barrier height = max error on the path minus the mean
of the two end points' errors.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import torch

from .config import ConfigError, check_choice, check_range
from .determinism import training_device
from .probe import recalibrate_bn
from .supervised import SupervisedCfg, accuracy, prepare, store_of, supervised

BN_MODES = ("recalibrate", "interpolate")


@dataclass(frozen=True)
class ConnectivityCfg:
    train: SupervisedCfg = field(default_factory=SupervisedCfg)  # start point and recipe; seed = first order
    orders: tuple[int, ...] = (0, 1, 2, 3, 4)                    # data-order seeds of the b runs
    gammas: int = 25                                             # evenly spaced in [0, 1]
    bn: str = "recalibrate"
    recal_size: int | None = None                                # train images for BN re-estimation (None: all)

    def __post_init__(self):
        object.__setattr__(self, "orders", tuple(self.orders))
        if len(set(self.orders)) < 2 or len(set(self.orders)) != len(self.orders):
            raise ConfigError(f"orders = {self.orders!r} must hold at least two distinct data-order seeds")
        if self.train.seed != self.orders[0]:
            raise ConfigError(f"train.seed = {self.train.seed} must equal the first order {self.orders[0]} "
                              f"(one config per set of runs)")
        check_range("gammas", self.gammas, 2, 10_000)
        check_choice("BN mode", self.bn, BN_MODES)
        if self.recal_size is not None:
            check_range("recal_size", self.recal_size, 1, 1 << 30)


def interpolate(a: dict, b: dict, gamma: float) -> dict:
    """gamma * a + (1 - gamma) * b for every floating tensor of two state dicts of one architecture.

    Integer buffers (BN's batch counters) come from the nearer end point.
    """
    if set(a) != set(b):
        diff = sorted(set(a) ^ set(b))
        raise ValueError(f"cannot interpolate networks of different architectures: {diff[:3]} in only one")
    out = {}
    for k, va in a.items():
        vb = b[k]
        if va.shape != vb.shape:
            raise ValueError(f"cannot interpolate networks of different architectures: {k} has shape "
                             f"{tuple(va.shape)} in one and {tuple(vb.shape)} in the other")
        out[k] = gamma * va + (1 - gamma) * vb if va.is_floating_point() else (va if gamma >= 0.5 else vb)
    return out


def path_errors(net, sd_i: dict, sd_j: dict, gammas, ds, bn: str, channels_last: bool,
                recal_size: int | None = None) -> list[float]:
    """Test error at each gamma along gamma theta_i + (1 - gamma) theta_j."""
    errors = []
    for g in gammas:
        net.load_state_dict(interpolate(sd_i, sd_j, float(g)))
        model = recalibrate_bn(net, ds.x_train[:recal_size], ds.normalize, channels_last=channels_last) \
            if bn == "recalibrate" else net
        errors.append(1.0 - accuracy(model, ds.x_test, ds.y_test, ds.normalize, channels_last))
    return errors


def barrier(errors) -> float:
    return max(errors) - (errors[0] + errors[-1]) / 2


def connectivity(cfg: ConnectivityCfg, run=None, device=None) -> dict:
    """Error curves and barrier heights for every pair of runs from one start point."""
    device = training_device(device)
    store = store_of(run)
    runs = [store.get_or_run("supervised", replace(cfg.train, seed=o), supervised) for o in cfg.orders]
    sds = [r.load("final") for r in runs]
    ds, net, cl = prepare(cfg.train, device, store)
    gammas = torch.linspace(0, 1, cfg.gammas).tolist()
    curves, pairs = [], []
    for (i, ri), (j, rj) in itertools.combinations(enumerate(runs), 2):
        errs = path_errors(net, sds[i], sds[j], gammas, ds, cfg.bn, cl, cfg.recal_size)
        pair = f"{cfg.orders[i]}-{cfg.orders[j]}"
        curves += [{"pair": pair, "gamma": g, "error": e} for g, e in zip(gammas, errs)]
        pairs.append({"pair": pair, "order_i": cfg.orders[i], "order_j": cfg.orders[j], "barrier": barrier(errs),
                      "error_i": errs[-1], "error_j": errs[0], "max_error": max(errs),
                      "own_bn_error_i": 1 - ri.metrics["test_acc"], "own_bn_error_j": 1 - rj.metrics["test_acc"]})
    return {"curves": curves, "pairs": pairs, "bn": cfg.bn, "runs": [r.hash for r in runs]}
