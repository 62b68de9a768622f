"""Supervised training of an encoder + linear classifier (the paper's App. E.5 recipe).

SGD with momentum 0.9 and weight decay 1e-4, learning rate 0.1 divided by 10 at 50% and 75% of
training, batch 256, padded random crop and (optionally) horizontal flip. The encoder starts at a
point of random-teacher distillation: the fresh student init theta_S ("init", rebuilt by
distill.make_nets) or the distilled student theta*_S ("student", the distill run's artifact).

Everything is a function of the seeds: the data order of epoch e comes from (seed, e), and the
augmentation of example i in epoch e from (aug_seed, e, i) alone, so two runs that differ only in
`seed` differ only in data order. Checkpoints (weights and optimizer state) of the epochs in
`save_epochs` are saved for rewinding.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import data
from .config import ConfigError, DataCfg, DistillCfg, added, check_choice, check_range, sum_dtype
from .determinism import training_device
from .kinds import engine
from .progress import bar

STARTS = ("init", "student")  # theta_S (fresh student init) or theta*_S (distilled student)
EVAL_BATCH = 1024


@dataclass(frozen=True)
class SupervisedCfg:
    distill: DistillCfg = field(default_factory=DistillCfg)  # architecture and where the encoder starts
    start: str = "init"
    data: DataCfg = field(default_factory=DataCfg)            # the supervised task
    epochs: int = 160
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    milestones: tuple[float, ...] = (0.5, 0.75)               # fractions of training where lr /= 10
    crop_pad: int = 4                                         # padded random crop (0: off)
    flip: bool = True                                         # random horizontal flip
    seed: int = 0                                             # data order
    aug_seed: int = 0                                         # augmentation draws
    save_epochs: tuple[int, ...] = ()                         # rewind checkpoints to keep
    channels_last: bool = True
    drop_last: bool = added(True)                             # False: the authors' 196 steps per CIFAR epoch

    def __post_init__(self):
        check_choice("start point", self.start, STARTS)
        check_range("epochs", self.epochs, 1, 100_000)
        check_range("batch_size", self.batch_size, 1, 1 << 20)
        check_range("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_range("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_range("crop_pad", self.crop_pad, 0, 64)
        object.__setattr__(self, "milestones", tuple(self.milestones))
        for m in self.milestones:
            check_range("lr milestone", m, 0.0, 1.0, lo_open=True, hi_open=True)
        object.__setattr__(self, "save_epochs", tuple(sorted(set(self.save_epochs))))
        for e in self.save_epochs:
            if not isinstance(e, int) or not 1 <= e < self.epochs:
                raise ConfigError(f"rewind epoch {e!r} is beyond training; allowed: 1 .. {self.epochs - 1} "
                                  f"(epochs = {self.epochs})")


class Classifier(nn.Module):
    """Encoder + linear classifier; `features` is the encoder (what BN recalibration runs through)."""

    def __init__(self, encoder: nn.Module, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.fc = nn.Linear(encoder.feature_dim, num_classes)

    def features(self, x):
        return self.encoder(x)

    def forward(self, x):
        return self.fc(self.encoder(x))


def lr_at(cfg: SupervisedCfg, epoch: int) -> float:
    """Learning rate of (1-based) epoch: divided by 10 at every milestone passed."""
    passed = sum(epoch - 1 >= round(m * cfg.epochs) for m in cfg.milestones)
    return cfg.lr * 0.1 ** passed


def store_of(run):
    """The store an engine's own entry lives in (nested entries go to the same place)."""
    from .store import Store
    return Store(Path(run.path).parents[1]) if run is not None else Store()


def distilled_student(cfg: DistillCfg, store) -> dict:
    """theta*_S: the distill run's student state dict (computed and stored if missing)."""
    return store.get_or_run("distill", cfg, engine("distill")).load("student")


def start_point(cfg: SupervisedCfg, num_classes: int, in_channels: int, store=None) -> Classifier:
    """The classifier at its start: encoder at theta_S or theta*_S, classifier from a fixed seed."""
    from .distill import make_nets
    _, student, _ = make_nets(cfg.distill, in_channels)
    if cfg.start == "student":
        sd = distilled_student(cfg.distill, store or store_of(None))
        load_checked(student, sd, "distilled student")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(10_007 + cfg.distill.seed)  # the same classifier init for both start points
        net = Classifier(student.encoder, num_classes)
    return net


def load_checked(net: nn.Module, sd: dict, what: str) -> None:
    """load_state_dict with a one-line error when the architectures differ."""
    own = net.state_dict()
    missing, extra = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if missing or extra:
        raise ValueError(f"{what} does not fit this architecture: missing {missing[:3]}, unexpected {extra[:3]}")
    for k, v in sd.items():
        if own[k].shape != v.shape:
            raise ValueError(f"{what} does not fit this architecture: {k} has shape {tuple(v.shape)}, "
                             f"expected {tuple(own[k].shape)}")
    net.load_state_dict(sd)


def make_optimizer(net: nn.Module, cfg: SupervisedCfg) -> torch.optim.SGD:
    return torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def augment(x: torch.Tensor, idx: torch.Tensor, cfg: SupervisedCfg, epoch: int) -> torch.Tensor:
    """Padded random crop (zero padding) and horizontal flip of uint8 images x[idx], on x's device.

    The draws for example i in epoch e depend only on (aug_seed, e, i), not on the batch it is in.
    """
    xb = x[idx]
    p = cfg.crop_pad
    if not p and not cfg.flip:
        return xb
    g = torch.Generator().manual_seed(cfg.aug_seed * 1_000_003 + epoch + 500_009)
    n = len(x)
    shifts = torch.randint(0, 2 * p + 1, (2, n), generator=g).to(x.device)[:, idx]
    flips = (torch.rand(n, generator=g) < 0.5).to(x.device)[idx] if cfg.flip else None
    b, _, h, w = xb.shape
    rows = shifts[0][:, None] + torch.arange(h, device=x.device)
    cols = shifts[1][:, None] + torch.arange(w, device=x.device)
    if flips is not None:
        cols = torch.where(flips[:, None], cols.flip(1), cols)
    padded = F.pad(xb, (p, p, p, p)) if p else xb
    out = padded[torch.arange(b, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)


@torch.inference_mode()
def accuracy(net: nn.Module, x, y, normalize, channels_last=False, batch_size=EVAL_BATCH) -> float:
    """Top-1 accuracy in eval mode (BN running statistics)."""
    was = net.training
    net.eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    correct = sum((net(normalize(x[i:i + batch_size]).contiguous(memory_format=fmt)).argmax(1)
                   == y[i:i + batch_size]).sum().item() for i in range(0, len(x), batch_size))
    net.train(was)
    return correct / len(x)


def train_epochs(net, opt, ds: data.Dataset, cfg: SupervisedCfg, epochs, masks=None, on_epoch=None,
                 desc="supervised") -> list[dict]:
    """Train for the given (1-based) epochs; with masks, pruned weights stay exactly zero.

    Masks zero the gradients before the step (so momentum and weight decay never touch pruned
    weights) and the weights after it (so they are exactly zero whatever the optimizer does).
    `on_epoch(epoch)` runs after every epoch (checkpoints).
    """
    cl = cfg.channels_last and ds.device.type == "cpu"
    fmt = torch.channels_last if cl else torch.contiguous_format
    net.train()
    rows = []
    for epoch in bar(epochs, desc=desc):
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        total = torch.zeros((), dtype=sum_dtype(ds.device), device=ds.device)
        batches = data.batch_indices(len(ds.x_train), cfg.batch_size, cfg.seed, epoch, ds.device, cfg.drop_last)
        for idx in batches:
            x = ds.normalize(augment(ds.x_train, idx, cfg, epoch)).contiguous(memory_format=fmt)
            loss = F.cross_entropy(net(x), ds.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if masks is not None:
                masks.mask_grads()
            opt.step()
            if masks is not None:
                masks.apply()
            total += loss.detach()
        loss = total.item() / len(batches)
        if not math.isfinite(loss):
            raise FloatingPointError(f"non-finite training loss at epoch {epoch} (lr={lr_at(cfg, epoch)}); "
                                     f"lower the learning rate")
        rows.append({"epoch": epoch, "lr": lr_at(cfg, epoch), "train_loss": loss})
        if on_epoch:
            on_epoch(epoch)
    return rows


def prepare(cfg: SupervisedCfg, device, store=None):
    """(dataset, classifier at its start point on device, channels_last flag)."""
    ds = data.load(cfg.data, device)
    net = start_point(cfg, ds.num_classes, ds.shape[0], store)
    cl = cfg.channels_last and device.type == "cpu"
    net.to(device, memory_format=torch.channels_last if cl else torch.contiguous_format)
    return ds, net, cl


def supervised(cfg: SupervisedCfg, run=None, device=None) -> dict:
    """Dense training from the start point; saves "final" and "rewind_<epoch>" artifacts."""
    device = training_device(device)
    ds, net, cl = prepare(cfg, device, store_of(run))
    opt = make_optimizer(net, cfg)
    saved = {}

    def on_epoch(epoch):
        if epoch in cfg.save_epochs:
            saved[epoch] = copy.deepcopy({"net": net.state_dict(), "opt": opt.state_dict()})

    history = train_epochs(net, opt, ds, cfg, range(1, cfg.epochs + 1), on_epoch=on_epoch,
                           desc=f"supervised from {cfg.start} seed {cfg.distill.seed}/{cfg.seed}")
    test_acc = accuracy(net, ds.x_test, ds.y_test, ds.normalize, cl)
    if run:
        run.save("final", net.state_dict())
        for epoch, state in saved.items():
            run.save(f"rewind_{epoch}", state)
    return {"history": history, "test_acc": test_acc,
            "train_acc": accuracy(net, ds.x_train, ds.y_train, ds.normalize, cl),
            "steps_per_epoch": len(data.batch_indices(len(ds.x_train), cfg.batch_size, cfg.seed, 1, drop_last=cfg.drop_last))}
