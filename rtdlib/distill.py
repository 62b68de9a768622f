"""Random-teacher distillation (Sarnthein et al. 2023, Sec. 3 and App. A, E).

A frozen teacher at random initialization, always in eval mode (its BN statistics stay at their
initial values); a student placed by locality init, trained in train mode with Adam(W) on the
cross-entropy between softmax(teacher / tau_t) and log_softmax(student / tau_s). No augmentation,
no centering, no EMA. Probes run at the configured epochs on encoder features.
"""
from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import replace

import torch
import torch.nn.functional as F

from . import data, models
from .config import ConfigError, DataCfg, DistillCfg, resolved_precision, sum_dtype
from .determinism import training_device
from .init import locality_init, param_distance
from .probe import features, probe_all, raw_features, recalibrate_bn
from .progress import bar

EPOCH0_BATCHES = 8  # batches used to measure the objective before any update


class NonFiniteLoss(FloatingPointError):
    pass


def distill_loss(s_logits, t_logits, tau_s=1.0, tau_t=1.0):
    """(cross-entropy, KL, teacher entropy), each averaged over the batch."""
    t_logp = F.log_softmax(t_logits / tau_t, dim=1)
    t_p = t_logp.exp()
    ce = -(t_p * F.log_softmax(s_logits / tau_s, dim=1)).sum(1).mean()
    ent = -(t_p * t_logp).sum(1).mean()
    return ce, ce - ent, ent


def optimizer(student, cfg: DistillCfg) -> torch.optim.AdamW:
    """AdamW with `weight_decay`; with `bias_weight_decay` set, biases and other 1-d parameters (norm
    affines) form a second param group with that decay, as in the authors' code (whose test for that
    group is: name ends in "bias" or one dimension)."""
    if cfg.bias_weight_decay is None:
        return torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    named = list(student.named_parameters())
    one_d = [n.endswith("bias") or p.dim() == 1 for n, p in named]
    return torch.optim.AdamW([{"params": [p for (_, p), b in zip(named, one_d) if not b]},
                              {"params": [p for (_, p), b in zip(named, one_d) if b],
                               "weight_decay": cfg.bias_weight_decay}], lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_nets(cfg: DistillCfg, in_channels: int, teacher_state: dict | None = None):
    """(teacher, student, init info): the teacher from seed 2s (or from `teacher_state`, e.g. a
    distilled student), the independent init from 2s + 1."""
    teacher = models.build(cfg.model, in_channels, seed=2 * cfg.seed)
    if teacher_state is not None:
        teacher.load_state_dict(teacher_state)
    fresh = models.build(cfg.model, in_channels, seed=2 * cfg.seed + 1)
    student, info = locality_init(teacher, fresh, cfg.alpha)
    teacher.eval().requires_grad_(False)
    return teacher, student, info


def probe_data(cfg: DistillCfg) -> DataCfg:
    return cfg.probe_data or replace(cfg.data, noise=False)


def probe_dataset(probe_cfg: DataCfg, device, shape=None) -> data.Dataset:
    """The dataset a run is probed on; resized to the training input's `shape` where only the side differs."""
    pds = data.load(probe_cfg, device)
    if shape is not None and pds.shape != shape and pds.shape[0] == shape[0]:
        pds = replace(pds, x_train=data.resize(pds.x_train, shape[-1]), x_test=data.resize(pds.x_test, shape[-1]))
    return pds


# Accuracies of nets that never train (the input, a frozen teacher) by everything that determines them:
# a pool worker runs many seeds and alphas of one notebook, where the input recurs in every run and each
# seed's teacher in every alpha. Measured in bench/breakdown.py.
CONSTANT_PROBES: dict[tuple, dict] = {}


def weights_digest(net) -> str:
    h = hashlib.sha256()
    for name, t in net.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class Prober:
    """Probes networks on `ds`, the dataset `data_cfg` describes (as loaded: resized, on its device);
    constant ones (input, teacher) come from CONSTANT_PROBES when computed before."""

    def __init__(self, ds: data.Dataset, data_cfg: DataCfg, cfg, channels_last: bool):
        self.ds, self.cfg, self.cl = ds, cfg, channels_last
        self.key = (data_cfg, ds.shape, str(ds.x_train.device))

    def __call__(self, name, net=None, constant=False) -> dict:
        # the thread count too: results are bit-equal per thread count only
        memo = (self.key, self.cfg, self.cl, torch.get_num_threads(), name, net and weights_digest(net)) \
            if constant else None
        if memo in CONSTANT_PROBES:
            return CONSTANT_PROBES[memo]
        ds = self.ds
        if net is None:  # the flattened input
            ftr, fte = raw_features(ds.x_train, ds.normalize), raw_features(ds.x_test, ds.normalize)
        else:
            if name.endswith("_bnrecal"):
                net = recalibrate_bn(net, ds.x_train, ds.normalize, channels_last=self.cl)
            ftr = features(net, ds.x_train, ds.normalize, channels_last=self.cl)
            fte = features(net, ds.x_test, ds.normalize, channels_last=self.cl)
        out = probe_all(ftr, ds.y_train, fte, ds.y_test, ds.num_classes, self.cfg)
        if constant:
            CONSTANT_PROBES[memo] = out
        return out


def probe_rows(prober, names, teacher, student, epoch, step, final) -> list[dict]:
    """One probe row per (net, probe) of the nets `names` at this point of training."""
    rows = []
    for net in names:
        if net.endswith("_bnrecal") and not models.has_batchnorm(student):
            continue  # identical to the network without recalibration
        if net == "student_bnrecal" and not final:
            continue  # the like-for-like check of the final student; saves a pass per probe point
        model = {"input": None, "teacher": teacher, "teacher_bnrecal": teacher}.get(net, student)
        accs = prober(net, model, constant=net in ("input", "teacher", "teacher_bnrecal"))
        rows.extend({"epoch": epoch, "step": step, "net": net, "probe": k, "acc": v} for k, v in accs.items())
    return rows


def distill(cfg: DistillCfg, run=None, device=None, teacher_state: dict | None = None) -> dict:
    """Train a student on its random teacher (or on the frozen net `teacher_state`); returns
    per-epoch history and probe rows."""
    device = training_device(device)
    precision = resolved_precision(cfg.precision, device)
    ds = data.load(cfg.data, device)
    pds = probe_dataset(probe_data(cfg), device, ds.shape)
    teacher, student, init_info = make_nets(cfg, ds.shape[0], teacher_state)
    cl = cfg.channels_last and device.type == "cpu"
    fmt = torch.channels_last if cl else torch.contiguous_format
    teacher.to(device, memory_format=fmt)
    student.to(device, memory_format=fmt).train()
    init = copy.deepcopy(student).requires_grad_(False)
    opt = optimizer(student, cfg)
    prober = Prober(pds, probe_data(cfg), cfg.probe, cl)
    history, probes, start = [], [], 1
    state = run.resume() if run else None
    if state:
        student.load_state_dict(state["student"])
        opt.load_state_dict(state["opt"])
        history, probes, start = state["history"], state["probes"], state["epoch"] + 1

    def batch(idx):
        return ds.normalize(ds.x_train[idx]).contiguous(memory_format=fmt)

    steps = len(data.batch_indices(len(ds.x_train), cfg.batch_size, cfg.seed, 1, drop_last=cfg.drop_last))
    beyond = [s for s in cfg.probe_steps if s > steps * cfg.epochs]
    if beyond:
        raise ConfigError(f"probe_steps {beyond} lie beyond the run's {steps * cfg.epochs} steps "
                          f"({cfg.epochs} epochs x {steps} steps per epoch); allowed: 1..{steps * cfg.epochs}")

    def probe(epoch, step, final):
        probes.extend(probe_rows(prober, cfg.probe_nets, teacher, student, epoch, step, final))

    def record(epoch, sums, n):
        row = {"epoch": epoch, "loss": sums[0] / n, "kl": sums[1] / n, "teacher_entropy": sums[2] / n,
               "dist_init": param_distance(student, init), "dist_teacher": param_distance(student, teacher)}
        if not all(math.isfinite(v) for v in row.values()):
            raise NonFiniteLoss(f"non-finite loss {row['loss']} at epoch {epoch} (lr={cfg.lr}, "
                                f"arch={cfg.model.arch}); lower the learning rate or check the inputs")
        history.append(row)
        if epoch in cfg.probe_epochs or epoch * steps in cfg.probe_steps:
            probe(epoch, epoch * steps, epoch == cfg.epochs)

    if start == 1:  # epoch 0: the objective on a few batches, on a copy so BN buffers stay untouched
        probe_student = copy.deepcopy(student).train()
        with torch.no_grad():
            idxs = data.batch_indices(len(ds.x_train), cfg.batch_size, cfg.seed, 1, device, cfg.drop_last)[:EPOCH0_BATCHES]
            sums = [sum(v) for v in zip(*[[t.item() for t in distill_loss(probe_student(batch(i)), teacher(batch(i)),
                                                                           cfg.tau_student, cfg.tau_teacher)]
                                          for i in idxs])]
        record(0, sums, len(idxs))

    for epoch in bar(range(start, cfg.epochs + 1), desc=f"distill {cfg.model.arch} seed {cfg.seed}",
                     initial=start - 1, total=cfg.epochs):
        sums = torch.zeros(3, device=device, dtype=sum_dtype(device))
        idxs = data.batch_indices(len(ds.x_train), cfg.batch_size, cfg.seed, epoch, device, cfg.drop_last)
        for i, idx in enumerate(idxs, 1):
            x = batch(idx)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                with torch.no_grad():
                    t_logits = teacher(x)
                s_logits = student(x)
            ce, kl, ent = distill_loss(s_logits.float(), t_logits.float(), cfg.tau_student, cfg.tau_teacher)
            opt.zero_grad(set_to_none=True)
            ce.backward()
            opt.step()
            sums += torch.stack([ce.detach(), kl.detach(), ent.detach()]).to(sums.dtype)
            step = (epoch - 1) * steps + i
            if step in cfg.probe_steps and i < len(idxs):  # a probe inside the epoch (the last step is the epoch's)
                probe(epoch - 1 + i / steps, step, False)
        record(epoch, sums.tolist(), len(idxs))
        if run:
            run.checkpoint({"epoch": epoch, "student": student.state_dict(), "opt": opt.state_dict(),
                            "history": history, "probes": probes})
    if run:
        run.save("student", student.state_dict())
        run.save("teacher", teacher.state_dict())
    out = {"init": init_info, "history": history, "probes": probes, "steps_per_epoch": steps, "precision": precision}
    if cfg.data.fingerprint:  # a dataset by path: its statistics were measured on its train split
        out["normalization"] = {"mean": list(ds.stats[0]), "std": list(ds.stats[1])}
    return out
