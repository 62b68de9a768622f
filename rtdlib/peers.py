"""Peer-to-peer consensus among randomly initialized networks (Rodríguez-Betancourt & Casasola-Murillo 2026).

The paper's full text is not available, so the rule is ours and is stated here exactly. A group of K
networks of one architecture, network i initialized from seed 1000*seed + i, all trained together in
train mode (BN uses batch statistics) with AdamW, no projector, no predictor, no pretext task, no
augmentation. On every batch x each network i gets the loss

    L_i = m_i * [lambda * D(f_i(x), sg[T_i(x)]) + (1 - lambda) * D(f_i(x), sg[f_i^0(x)])]

where sg is stop-gradient, f_i^0 the frozen initialization of network i in eval mode (its own random
teacher), lambda the consensus weight and D and T_i are chosen by the config:
  loss "ce":  f = the DINO-style head on the encoder (logits), D(z, t) = -sum softmax(t) . log_softmax(z)
              (tau = 1; for the mean rule the target distribution is the mean of the others' probabilities);
  loss "mse": f = the encoder embedding (no head), D(z, t) = mean_d (z_d - t_d)^2.
  rule "mean":         T_i = the mean of the other K-1 peers' outputs, m_i = 1;
  rule "random_roles": each step a seeded random permutation pi of the peers; pi[:K//2] are teachers
                       (m = 0), the rest students (m = 1); the j-th student's target is teacher pi[j % (K//2)].
                       A teacher does not change in a step in which it teaches: its parameters, BN buffers
                       and AdamW moments (exp_avg, exp_avg_sq) are restored after the step, so neither
                       momentum nor weight decay moves it and its moments neither decay nor accumulate.
                       AdamW's step counter (one per parameter tensor; on the batched path one tensor
                       holds all K networks) counts every step, so a network's bias correction uses the
                       group's step count t, not the number of steps it was a student;
  rule "none":         the control, lambda = 0, m_i = 1: every network distils only its own frozen
                       initialization (the random-teacher setting with alpha = 0) under the same
                       optimizer, data and batches.
Peers' targets come from the same train-mode forward pass as their predictions, detached.
Averaging probabilities (not logits) for "ce" makes the loss linear in the target, so the mean rule's
loss equals the average of the K-1 pairwise distillation losses; for "mse" the gradient of
(z_i - mean_j z_j)^2 is likewise the average of the pairwise gradients.
"""
from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from . import data, models
from .config import ConfigError, DataCfg, ModelCfg, ProbeCfg, added, check_choice, check_range, sum_dtype
from .determinism import training_device
from .distill import NonFiniteLoss, Prober
from .progress import bar

RULES = ("mean", "random_roles", "none")
LOSSES = ("ce", "mse")
PATHS = ("auto", "batched", "loop")
SEED_STRIDE = 1000  # network i of group seed s is initialized from seed SEED_STRIDE * s + i
ROLE_SEED = 7919    # offset of the role generator's seed from the group seed
MOMENTS = ("exp_avg", "exp_avg_sq")  # AdamW's per-element state, restored with a teacher's weights


@dataclass(frozen=True)
class PeersCfg:
    data: DataCfg = field(default_factory=DataCfg)
    model: ModelCfg = field(default_factory=ModelCfg)
    k: int = 2                         # group size
    rule: str = "mean"
    loss: str = "ce"
    consensus_weight: float = 1.0      # lambda; 0 only with rule "none" (the independent control)
    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    baselines: bool = False            # also probe the input and every untrained network (plain, BN recalibrated)
    probe: ProbeCfg = field(default_factory=ProbeCfg)
    probe_epochs: tuple[int, ...] = added(())  # every peer is also probed after these epochs (the last always is)
    path: str = "auto"                 # "batched" (torch.func vmap), "loop" (the same step), or "auto"
    channels_last: bool = True

    def __post_init__(self):
        if not isinstance(self.k, int) or isinstance(self.k, bool) or not 1 <= self.k < SEED_STRIDE:
            raise ConfigError(f"group size k = {self.k!r} must be an integer in [1, {SEED_STRIDE - 1}]")
        check_choice("consensus rule", self.rule, RULES)
        check_choice("consensus loss", self.loss, LOSSES)
        check_choice("path", self.path, PATHS)
        check_range("consensus_weight", self.consensus_weight, 0.0, 1.0)
        if self.rule == "none" and self.consensus_weight != 0:
            raise ConfigError(f"rule 'none' is the independent control and needs consensus_weight = 0, "
                              f"not {self.consensus_weight!r}")
        if self.rule != "none" and self.consensus_weight == 0:
            raise ConfigError(f"consensus_weight = 0 gives rule {self.rule!r} no peer signal; "
                              "use rule 'none' (the independent control)")
        if self.rule != "none" and self.k < 2:
            raise ConfigError(f"rule {self.rule!r} needs a group of k >= 2 peers, got k = {self.k}")
        check_range("epochs", self.epochs, 0, 100_000)
        check_range("batch_size", self.batch_size, 1, 1 << 20)
        check_range("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_range("weight_decay", self.weight_decay, 0.0, 10.0)
        object.__setattr__(self, "probe_epochs", tuple(sorted(set(self.probe_epochs))))
        for e in self.probe_epochs:
            check_range("probe epoch", e, 1, self.epochs)



def check_group(nets) -> None:
    """Every network of a group must have the same parameter and buffer names and shapes."""
    ref = {k: tuple(v.shape) for k, v in nets[0].state_dict().items()}
    for i, net in enumerate(nets[1:], 1):
        got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        if got != ref:
            diff = sorted(set(got.items()) ^ set(ref.items()))[0][0]
            raise ConfigError(f"network {i} of the group differs from network 0 in {diff!r}; "
                              "a group needs one architecture")


def build_net(cfg: PeersCfg, in_channels: int, index: int) -> models.Net:
    """Network `index` of the group; for "mse" the head is dropped (features = output = embedding)."""
    net = models.build(cfg.model, in_channels, seed=SEED_STRIDE * cfg.seed + index)
    return net if cfg.loss == "ce" else models.Net(net.encoder, nn.Identity())


# --- targets -----------------------------------------------------------------------------------------

def mean_of_others(v: torch.Tensor) -> torch.Tensor:
    """(K, ...) -> (K, ...): entry i is the mean of the other K-1 entries."""
    k = v.shape[0]
    return (v.sum(0, keepdim=True) - v) / (k - 1)


def draw_roles(k: int, gen: torch.Generator) -> torch.Tensor:
    """teacher_of (K,): the teacher of each student, -1 for the K//2 teachers (see the module docstring)."""
    perm = torch.randperm(k, generator=gen)
    h = k // 2
    teacher_of = torch.full((k,), -1, dtype=torch.long)
    teacher_of[perm[h:]] = perm[torch.arange(k - h) % h]
    return teacher_of


def as_target(out: torch.Tensor, loss: str) -> torch.Tensor:
    """What is averaged and compared: probabilities for "ce", embeddings for "mse"."""
    return F.softmax(out, dim=-1) if loss == "ce" else out


def divergence(out: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """(K, B, D) predictions vs (K, B, D) targets -> (K,) per-network loss averaged over the batch."""
    if loss == "ce":
        return -(target * F.log_softmax(out, dim=-1)).sum(-1).mean(-1)
    return (out - target).pow(2).mean(-1).mean(-1)


def consensus_targets(out: torch.Tensor, rule: str, loss: str, teacher_of=None):
    """(targets (K, B, D), mask (K,)) of the peer term from detached outputs `out`."""
    t = as_target(out.detach(), loss)
    k = t.shape[0]
    if rule == "mean":
        return mean_of_others(t), torch.ones(k, device=t.device)
    if rule == "random_roles":
        teacher_of = teacher_of.to(t.device)
        return t[teacher_of.clamp(min=0)], (teacher_of >= 0).float()
    raise ValueError(f"rule {rule!r} has no peer targets")


# --- the group: batched (torch.func) or a loop ---------------------------------------------------------

def moments(opt, p) -> list[torch.Tensor]:
    """AdamW's moments of parameter p; zeros, the value AdamW initializes them to, before p's first step."""
    st = opt.state.get(p, {})
    return [st[n] if n in st else torch.zeros_like(p) for n in MOMENTS]


@contextlib.contextmanager
def unchanged(group, opt, indices):
    """Networks `indices` leave the block exactly as they entered it: parameters, buffers, AdamW moments."""
    saved = [t.clone() for i in indices for t in group.net_state(i, opt)]
    yield
    with torch.no_grad():
        for t, v in zip([t for i in indices for t in group.net_state(i, opt)], saved, strict=True):
            t.copy_(v)


class LoopGroup:
    def __init__(self, nets):
        self.nets = nets

    def __call__(self, x):
        return torch.stack([n(x) for n in self.nets])

    def parameters(self):
        return [p for n in self.nets for p in n.parameters()]

    def train(self, mode=True):
        for n in self.nets:
            n.train(mode)
        return self

    def state_dicts(self):
        return [n.state_dict() for n in self.nets]

    def net_state(self, i, opt) -> list[torch.Tensor]:
        ps = list(self.nets[i].parameters())
        return ps + list(self.nets[i].buffers()) + [m for p in ps for m in moments(opt, p)]


class BatchedGroup:
    """K networks as stacked parameters and buffers; one vmapped functional_call runs them all.

    BN in train mode updates its running statistics in place; the buffers are stacked and vmapped
    along with the parameters (in_dims 0), so each network updates its own slice (tested).
    """

    def __init__(self, nets):
        self.base = copy.deepcopy(nets[0]).to("meta")
        self.params, self.buffers = stack_module_state(nets)
        self.fwd = vmap(lambda p, b, x: functional_call(self.base, (p, b), (x,)), in_dims=(0, 0, None))
        self.names = list(nets[0].state_dict())

    def __call__(self, x):
        return self.fwd(self.params, self.buffers, x)

    def parameters(self):
        return list(self.params.values())

    def train(self, mode=True):
        self.base.train(mode)
        return self

    def state_dicts(self):
        both = self.params | self.buffers
        return [{k: both[k][i].detach().clone() for k in self.names} for i in range(len(both[self.names[0]]))]

    def net_state(self, i, opt) -> list[torch.Tensor]:
        """Row i (a view) of every stacked parameter, buffer and AdamW moment."""
        ps = list(self.params.values())
        return [t[i] for t in ps + list(self.buffers.values()) + [m for p in ps for m in moments(opt, p)]]


def resolve_path(cfg: PeersCfg, device) -> str:
    """"auto" picks the batched path for groups of 4 or more small nets (bench/peers.py on this CPU: K = 8
    1.3-1.9x; K = 4 between 0.94x and 1.9x over bench runs, about even), the loop for K = 2 (0.8-1.2x) and
    for large nets (ResNet18: 0.6-0.9x), and batched on CUDA, where one vmapped kernel per layer replaces K
    small ones (not measured here: no GPU). The two paths agree to float rounding, not bit for bit."""
    if cfg.path != "auto":
        return cfg.path
    small = cfg.model.arch.startswith("small_")
    return "batched" if torch.device(device).type == "cuda" or (cfg.k >= 4 and small) else "loop"


def make_group(nets, path: str):
    check_group(nets)
    return BatchedGroup(nets) if path == "batched" else LoopGroup(nets)


def step(group, anchors, x, cfg: PeersCfg, opt, teacher_of=None) -> torch.Tensor:
    """One update of every network but this step's teachers (random roles), which are left unchanged;
    returns [loss, peer term, anchor term, disagreement] (means over K, teachers counting 0 in the first three)."""
    teachers = [] if teacher_of is None else (teacher_of < 0).nonzero().flatten().tolist()
    with unchanged(group, opt, teachers):  # AdamW's momentum and weight decay would move them (and BN its buffers)
        out = group(x)
        lam = cfg.consensus_weight
        zero = out.new_zeros(out.shape[0])
        peer = anchor = zero
        mask = torch.ones_like(zero)
        if lam > 0:
            target, mask = consensus_targets(out, cfg.rule, cfg.loss, teacher_of)
            peer = mask * divergence(out, target, cfg.loss)
        if lam < 1:
            with torch.no_grad():
                anchor_target = as_target(anchors(x), cfg.loss)
            anchor = mask * divergence(out, anchor_target, cfg.loss)
        loss = lam * peer + (1 - lam) * anchor
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # networks share no parameters: each gets the gradient of its own L_i
        opt.step()
    with torch.no_grad():  # how far each net is from the others' mean (a diagnostic, for every rule)
        d = divergence(out, mean_of_others(as_target(out, cfg.loss)), cfg.loss) if out.shape[0] > 1 else zero
    return torch.stack([loss.mean(), peer.mean(), anchor.mean(), d.mean()]).detach()


def setup(cfg: PeersCfg, in_channels: int, device, fmt=torch.contiguous_format, states=None):
    """(group, anchors, optimizer, initial networks) for a config; anchors are frozen, in eval mode.
    `states` (one state dict per network, from a checkpoint) replaces the trained weights, not the inits."""
    nets = [build_net(cfg, in_channels, i).to(device, memory_format=fmt) for i in range(cfg.k)]
    inits = [copy.deepcopy(n).eval().requires_grad_(False) for n in nets]
    for net, state in zip(nets, states or ()):
        net.load_state_dict(state)
    path = resolve_path(cfg, device)
    group = make_group([n.train() for n in nets], path)
    anchors = None
    if cfg.consensus_weight < 1:
        anchors = make_group([copy.deepcopy(n) for n in inits], path).train(False)
        for p in anchors.parameters():
            p.requires_grad_(False)
    opt = torch.optim.AdamW(group.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return group, anchors, opt, inits


def role_generator(cfg: PeersCfg) -> torch.Generator:
    return torch.Generator().manual_seed(cfg.seed + ROLE_SEED)


def train_peers(cfg: PeersCfg, run=None, device=None) -> dict:
    """Train a group by peer consensus (or the control) and probe every network; returns history and probes."""
    device = training_device(device)
    ds = data.load(cfg.data, device)
    path = resolve_path(cfg, device)
    cl = cfg.channels_last and device.type == "cpu" and path == "loop"
    fmt = torch.channels_last if cl else torch.contiguous_format
    state = run.resume() if run else None
    group, anchors, opt, inits = setup(cfg, ds.shape[0], device, fmt, state and state["nets"])
    gen = role_generator(cfg)
    prober = Prober(ds, cfg.data, cfg.probe, cl)
    history, probes, start = [], [], 1
    if state:  # an interrupted run continues after its last finished epoch, bit for bit
        opt.load_state_dict(state["opt"])
        gen.set_state(state["roles"])
        history, probes, start = state["history"], state.get("probes", []), state["epoch"] + 1

    def add(epoch, net_kind, index, accs):
        probes.extend({"epoch": epoch, "net": net_kind, "index": index, "probe": p, "acc": a} for p, a in accs.items())

    def eval_copies():  # the peers as separate networks in eval mode; training's own state stays untouched
        nets = []
        for i, sd in enumerate(group.state_dicts()):
            net = build_net(cfg, ds.shape[0], i).to(device, memory_format=fmt)
            net.load_state_dict(sd)
            nets.append(net.eval())
        return nets

    def record(epoch, sums, n):
        row = dict(zip(("loss", "peer", "anchor", "disagreement"), (s / n for s in sums)), epoch=epoch)
        if not all(math.isfinite(v) for v in row.values()):
            raise NonFiniteLoss(f"non-finite loss {row['loss']} at epoch {epoch} (lr={cfg.lr}, rule={cfg.rule}, "
                                f"loss={cfg.loss}); lower the learning rate")
        history.append(row)

    for epoch in bar(range(start, cfg.epochs + 1), desc=f"peers k={cfg.k} {cfg.rule}/{cfg.loss} seed {cfg.seed}",
                     initial=start - 1, total=cfg.epochs):
        sums = torch.zeros(4, dtype=sum_dtype(device), device=device)
        idxs = data.batch_indices(len(ds.x_train), cfg.batch_size, cfg.seed, epoch, device)
        for idx in idxs:
            x = ds.normalize(ds.x_train[idx]).contiguous(memory_format=fmt)
            teacher_of = draw_roles(cfg.k, gen) if cfg.rule == "random_roles" else None
            sums += step(group, anchors, x, cfg, opt, teacher_of).to(sums.dtype)
        record(epoch, sums.tolist(), len(idxs))
        if epoch in cfg.probe_epochs and epoch < cfg.epochs:
            for i, net in enumerate(eval_copies()):
                add(epoch, "peer", i, prober("peer", net))
        if run:
            run.checkpoint({"epoch": epoch, "nets": group.state_dicts(), "opt": opt.state_dict(),
                            "roles": gen.get_state(), "history": history, "probes": probes})

    finals = eval_copies()
    if run:
        run.save("peers", [n.state_dict() for n in finals])
    for i, net in enumerate(finals):
        add(cfg.epochs, "peer", i, prober("peer", net))
    if cfg.baselines:  # the untrained networks (and the input) at epoch 0
        add(0, "input", -1, prober("input", None, constant=True))
        for i, net in enumerate(inits):
            add(0, "init", i, prober("init", net))
            if models.has_batchnorm(net):
                add(0, "init_bnrecal", i, prober("init_bnrecal", net))
    steps = len(data.batch_indices(len(ds.x_train), cfg.batch_size, cfg.seed, 1))
    return {"history": history, "probes": probes, "steps_per_epoch": steps, "path": path}
