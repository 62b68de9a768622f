"""Lottery tickets: iterative magnitude pruning (IMP) with rewinding (paper Sec. 6, Fig. 8).

Round 0 is the dense supervised run (a "supervised" store entry, shared by every line that starts
from the same point with the same seeds). Each further round prunes `prune_fraction` of the
remaining weights by global magnitude of the previous round's trained weights, rewinds the
survivors to the rewind point and retrains to the end of the schedule:
  rewind_epoch 0: the start point itself (theta_S or theta*_S) with a fresh optimizer;
  rewind_epoch l > 0: the dense run's epoch-l checkpoint, weights AND optimizer state (momentum),
  retrained for epochs l+1 .. E on the same learning-rate schedule (Frankle et al. 2019).
Pruned weights stay exactly zero (see Masks). The run checkpoints after every round and resumes at
the last finished one.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from .config import ConfigError, check_choice, check_range
from .determinism import training_device
from .supervised import (SupervisedCfg, accuracy, make_optimizer, prepare, store_of, supervised,
                         train_epochs)

# "weights": conv and linear weights (the paper's IMP); "all": every parameter, biases and norm
# affine parameters included, as the authors' public code pruned
PRUNE_SCOPES = ("weights", "all")


@dataclass(frozen=True)
class LotteryCfg:
    train: SupervisedCfg = field(default_factory=SupervisedCfg)  # dense run: start point, seeds, schedule
    rewind_epoch: int = 0
    rounds: int = 24                  # pruning rounds after the dense one; 0.8^24 = 0.47% remaining
    prune_fraction: float = 0.2       # of the remaining weights, per round
    prune_scope: str = "weights"

    def __post_init__(self):
        check_range("prune_fraction", self.prune_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
        check_choice("prune scope", self.prune_scope, PRUNE_SCOPES)
        check_range("rounds", self.rounds, 0, 1000)
        e, total = self.rewind_epoch, self.train.epochs
        if not isinstance(e, int) or isinstance(e, bool) or not 0 <= e < total:
            raise ConfigError(f"rewind_epoch = {e!r} is beyond training; allowed: 0 .. {total - 1} "
                              f"(epochs = {total})")
        if e > 0 and e not in self.train.save_epochs:
            raise ConfigError(f"rewind_epoch = {e} has no saved checkpoint; allowed: 0 or one of "
                              f"train.save_epochs = {self.train.save_epochs}")


def prunable(net: nn.Module, scope: str = "weights") -> dict[str, nn.Parameter]:
    """The parameters IMP may prune, by name."""
    check_choice("prune scope", scope, PRUNE_SCOPES)
    if scope == "all":
        return dict(net.named_parameters())
    return {f"{name}.weight" if name else "weight": m.weight for name, m in net.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))}


class Masks:
    """Binary masks over a network's prunable parameters; pruned weights are kept exactly at zero."""

    def __init__(self, net: nn.Module, scope: str = "weights"):
        self.params = prunable(net, scope)
        self.masks = {n: torch.ones_like(p, dtype=torch.bool) for n, p in self.params.items()}

    def total(self) -> int:
        return sum(m.numel() for m in self.masks.values())

    def remaining(self) -> int:
        return sum(int(m.sum()) for m in self.masks.values())

    def fraction(self) -> float:
        return self.remaining() / self.total()

    @torch.no_grad()
    def prune(self, fraction: float) -> int:
        """Prune round(fraction * remaining) of the surviving weights with the globally smallest |w|."""
        check_range("prune fraction", fraction, 0.0, 1.0, lo_open=True, hi_open=True)
        k = round(fraction * self.remaining())
        if k == 0:
            return 0
        scores = torch.cat([torch.where(m, p.detach().abs(), torch.inf).flatten().float()
                            for p, m in zip(self.params.values(), self.masks.values())])
        flat = torch.ones_like(scores, dtype=torch.bool)
        flat[scores.topk(k, largest=False).indices] = False
        offset = 0
        for name, m in self.masks.items():
            m &= flat[offset:offset + m.numel()].view_as(m).to(m.device)
            offset += m.numel()
        self.apply()
        return k

    @torch.no_grad()
    def apply(self) -> None:
        for name, p in self.params.items():
            p.mul_(self.masks[name])

    def mask_grads(self) -> None:
        for name, p in self.params.items():
            if p.grad is not None:
                p.grad.mul_(self.masks[name])

    @torch.no_grad()
    def mask_optimizer(self, opt: torch.optim.Optimizer) -> None:
        """Zero the optimizer state (momentum) of pruned weights, e.g. after rewinding to a checkpoint."""
        for name, p in self.params.items():
            for value in opt.state.get(p, {}).values():
                if torch.is_tensor(value) and value.shape == p.shape:
                    value.mul_(self.masks[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {n: m.clone().cpu() for n, m in self.masks.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if set(state) != set(self.masks):
            raise ValueError(f"masks do not fit this network: got {sorted(state)[:3]}..., "
                             f"expected {sorted(self.masks)[:3]}...")
        for n, m in state.items():
            if m.shape != self.masks[n].shape:
                raise ValueError(f"mask {n} has shape {tuple(m.shape)}, expected {tuple(self.masks[n].shape)}")
            self.masks[n] = m.to(device=self.masks[n].device, dtype=torch.bool).clone()
        self.apply()


def rewind(net: nn.Module, cfg: SupervisedCfg, weights: dict, opt_state: dict | None, masks: Masks):
    """Load the rewind point's weights (and optimizer state), masked; returns the optimizer."""
    net.load_state_dict(weights)
    opt = make_optimizer(net, cfg)
    if opt_state is not None:
        opt.load_state_dict(copy.deepcopy(opt_state))
    masks.apply()
    masks.mask_optimizer(opt)
    return opt


def nonzero_fraction(net: nn.Module) -> float:
    """Fraction of all parameters that are non-zero (what a dense-storage reader would see)."""
    params = list(net.parameters())
    return sum(int((p != 0).sum()) for p in params) / sum(p.numel() for p in params)


def lottery(cfg: LotteryCfg, run=None, device=None) -> dict:
    """One IMP line: test accuracy and sparsity after every round."""
    device = training_device(device)
    store = store_of(run)
    dense = store.get_or_run("supervised", cfg.train, supervised)
    ds, net, cl = prepare(cfg.train, device, store)
    ell = cfg.rewind_epoch
    if ell == 0:
        rewind_weights, rewind_opt = copy.deepcopy(net.state_dict()), None
    else:
        ckpt = dense.load(f"rewind_{ell}")
        rewind_weights, rewind_opt = ckpt["net"], ckpt["opt"]
    masks = Masks(net, cfg.prune_scope)
    trained, start = dense.load("final"), 1
    net.load_state_dict(trained)
    rows = [{"round": 0, "remaining": 1.0, "nonzero_all": nonzero_fraction(net), "test_acc": dense.metrics["test_acc"],
             "train_acc": dense.metrics["train_acc"]}]
    state = run.resume() if run else None
    if state:
        masks.load_state_dict(state["masks"])
        rows, trained, start = state["rows"], state["trained"], state["round"] + 1
    for r in range(start, cfg.rounds + 1):
        net.load_state_dict(trained)
        masks.prune(cfg.prune_fraction)
        opt = rewind(net, cfg.train, rewind_weights, rewind_opt, masks)
        train_epochs(net, opt, ds, cfg.train, range(ell + 1, cfg.train.epochs + 1), masks=masks,
                     desc=f"IMP round {r}/{cfg.rounds} ({cfg.train.start}, rewind {ell})")
        rows.append({"round": r, "remaining": masks.fraction(), "nonzero_all": nonzero_fraction(net),
                     "test_acc": accuracy(net, ds.x_test, ds.y_test, ds.normalize, cl),
                     "train_acc": accuracy(net, ds.x_train, ds.y_train, ds.normalize, cl)})
        trained = copy.deepcopy(net.state_dict())
        if run:
            run.checkpoint({"round": r, "masks": masks.state_dict(), "rows": rows, "trained": trained})
    if run:
        run.save("masks", masks.state_dict())
    return {"rounds": rows, "dense": dense.hash, "prunable": masks.total(),
            "parameters": sum(p.numel() for p in net.parameters())}
