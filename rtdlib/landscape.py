"""Loss and probing landscapes on planes through parameter space (paper Sec. 5, App. C.3).

A plane through three parameter vectors (the teacher θ_T and two others) in
  interpolation coordinates: θ(λ1, λ2) = θ_T + λ1 (θ_1 − θ_T) + λ2 (θ_2 − θ_T)   (Fig. 5), or
  orthonormal coordinates:   θ(x, y)  = θ_T + x e1 + y e2, e1, e2 Gram-Schmidt     (Figs. 13-16),
or two filter-normalized random directions around one point (Li et al. 2018: every filter of a
direction as long as that filter of the point). Optional stacked planes step along a third, random
direction orthogonal to the plane. View "lines" is no plane: `directions` straight lines through θ_T,
each along a filter-normalized random direction rescaled to the length of θ*_S(α≈0) − θ_T, sampled
at the offsets of the crop around the teacher (the null of the asymmetric valley, Fig. 14).

Views (θ*_S(α): the student trained from locality α; θ_S(1): the fresh init):
  nonlocal: θ_T, θ_S(1), θ*_S(1)      shared: θ_T, θ*_S(α≈0), θ*_S(1)      random: around one point
  lines: through θ_T along random directions as long as θ*_S(α≈0) − θ_T (grid rows: one per direction)

At every grid point: distillation cross-entropy and KL to the teacher on a fixed train subset,
the encoder-only KL (softmax over encoder features, Fig. 15), linear-probe and k-NN accuracy of
encoder features (NaN with `probes=False`: the losses alone are far cheaper), and ‖θ‖. Grid networks run in eval mode; their BN buffers are the teacher's
(`bn="teacher"`, so the teacher point reproduces the teacher exactly) or re-estimated on the
fixed train subset at every point (`bn="recompute"`). Only parameters move in the plane.

With `batched=True` a chunk of grid points runs as one vmapped forward pass per image batch; BN
re-estimation (`bn="recompute"`) still runs point by point before it.

Grid values fill in chunk by chunk and are checkpointed, so a killed evaluation resumes with only
the missing points; the window and resolution are part of the config (and so of its hash).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from . import data
from .config import ConfigError, DistillCfg, added, check_choice, check_range
from .determinism import training_device
from .distill import distill, make_nets, probe_data, probe_dataset
from .probe import EVAL_BATCH, knn_probe, linear_probe, recalibrate_bn
from .progress import bar
from .store import Store

VIEWS = ("nonlocal", "shared", "random", "lines")
COORDS = ("interp", "ortho")
BN_CHOICES = ("teacher", "recompute")
CENTERS = ("teacher", "local", "nonlocal")
METRICS = ("loss", "kl", "enc_kl", "linear", "knn", "norm")


@dataclass(frozen=True)
class LandscapeCfg:
    distill: DistillCfg = field(default_factory=DistillCfg)  # the endpoints' runs (alpha set per point)
    view: str = "shared"
    coords: str = "interp"             # ignored by views "random" and "lines" (their axes are the directions)
    resolution: int = 11               # points per axis
    margin: float = 0.25               # window: the points' bounding box padded by this fraction
                                       # (interp: rounded to whole grid steps so the points are nodes)
    crop: float = 0.0                  # > 0: a square window of half-width crop * |θ_1 - θ_T| around θ_T
    local_alpha: float = 1e-10         # the local student of the shared view
    center: str = "teacher"            # view "random": the point the directions start from
    span: float = 1.0                  # view "random": window [-span, span]^2 in direction units
    stack: tuple[float, ...] = (0.0,)  # offsets along a third direction, in units of |θ_1 - θ_T|
    bn: str = "teacher"
    eval_size: int = 512               # train images for the losses (and BN re-estimation)
    probe_train: int = 1000            # probe images, first N of the probe dataset's splits
    probe_test: int = 500
    linear_steps: int = 100            # L-BFGS iterations of the linear probe at every point
    batched: bool = False              # vmap over grid points (same numbers; speed in `make bench`)
    chunk: int = 8                     # grid points per vmapped call / per checkpoint
    dir_seed: int = 0                  # random directions (view random, third direction)
    directions: int = added(0)         # view "lines": how many random lines (the grid's rows)
    probes: bool = added(True)         # False: losses only, the probe metrics are NaN

    def __post_init__(self):
        check_choice("landscape view", self.view, VIEWS)
        check_choice("landscape coordinates", self.coords, COORDS)
        check_choice("BN buffer choice", self.bn, BN_CHOICES)
        check_choice("random-view center", self.center, CENTERS)
        check_range("resolution", self.resolution, 2, 1001)
        check_range("margin", self.margin, 0.0, 10.0)
        check_range("crop", self.crop, 0.0, 1e6)
        check_range("span", self.span, 0.0, 1e6, lo_open=True)
        check_range("local_alpha", self.local_alpha, 0.0, 1.0)
        object.__setattr__(self, "stack", tuple(float(s) for s in self.stack))
        if not self.stack:
            raise ConfigError("stack must hold at least one offset, e.g. (0.0,)")
        lines = self.view == "lines"
        if lines != (self.directions > 0) or (lines and (self.crop <= 0 or self.stack != (0.0,))):
            raise ConfigError(f"view {self.view!r} with directions = {self.directions!r}, crop = {self.crop!r}, "
                              f"stack = {self.stack!r}: view 'lines' needs directions >= 1, crop > 0 and stack "
                              "(0.0,); every other view directions = 0")
        for what in ("resolution", "eval_size", "probe_train", "probe_test", "linear_steps", "chunk"):
            v = getattr(self, what)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{what} = {v!r} must be a positive integer")


# ---------------------------------------------------------------- parameter vectors and planes

def flat_params(net) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).double() for p in net.parameters()])


def filter_normalized_direction(net, center: torch.Tensor, seed: int) -> torch.Tensor:
    """Li et al. (2018): Gaussian direction, each filter (row) rescaled to the norm of the same filter of
    `center` (a flat vector in `net`'s parameter layout, the point the direction starts from);
    1-D parameters (biases, norm affines) get no component."""
    g = torch.Generator().manual_seed(seed)
    parts, i = [], 0
    for p in net.parameters():
        c = center[i:i + p.numel()].view(p.shape).double().cpu()
        i += p.numel()
        if p.dim() <= 1:
            parts.append(torch.zeros(p.numel(), dtype=torch.float64))
            continue
        d = torch.randn(p.shape, generator=g, dtype=torch.float64)
        d = d * (c.flatten(1).norm(dim=1) / d.flatten(1).norm(dim=1).clamp_min(1e-12)).view(-1, *[1] * (p.dim() - 1))
        parts.append(d.reshape(-1))
    if i != center.numel():
        raise ValueError(f"center has {center.numel()} entries; the net has {i} parameters")
    return torch.cat(parts)


def orthonormal_pair(d1: torch.Tensor, d2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gram-Schmidt basis (e1 along d1) of the span of d1 and d2."""
    e1 = d1 / d1.norm()
    r = d2 - (d2 @ e1) * e1
    return e1, r / r.norm()


def off_plane(third: torch.Tensor, e1: torch.Tensor, e2: torch.Tensor, length) -> torch.Tensor:
    """`third` with its components along the orthonormal e1, e2 removed, rescaled to `length`."""
    w = third - (third @ e1) * e1
    w = w - (w @ e2) * e2
    return w / w.norm() * length


@dataclass
class Plane:
    """θ(a, b, c) = origin + a·u + b·v + c·w; `points` are (name, a, b) of the marked points."""
    origin: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    w: torch.Tensor
    points: list

    def at(self, a, b, c=0.0) -> torch.Tensor:
        return self.origin + a * self.u + b * self.v + c * self.w


def plane(theta_t, theta_1, theta_2, coords: str, third: torch.Tensor, names=("teacher", "p1", "p2")) -> Plane:
    """The plane through three float64 vectors; `third` (any direction) is made orthogonal to the plane."""
    d1, d2 = theta_1 - theta_t, theta_2 - theta_t
    e1, e2 = orthonormal_pair(d1, d2)
    if coords == "interp":
        u, v = d1, d2
        pts = [(names[0], 0.0, 0.0), (names[1], 1.0, 0.0), (names[2], 0.0, 1.0)]
    else:
        u, v = e1, e2
        pts = [(names[0], 0.0, 0.0), (names[1], d1.norm().item(), 0.0), (names[2], (d2 @ u).item(), (d2 @ v).item())]
    w = off_plane(third, e1, e2, d1.norm())  # stack offsets in units of |θ_1 - θ_T| in both coordinates
    return Plane(theta_t, u, v, w, pts)


def random_plane(center, net, seed: int, name: str) -> Plane:
    """Two filter-normalized directions around `center`; the stacking direction is a third one made
    orthogonal to both and kept at its own length (stack offsets in direction units)."""
    u = filter_normalized_direction(net, center, seed)
    v = filter_normalized_direction(net, center, seed + 1)
    third = filter_normalized_direction(net, center, seed + 2)
    return Plane(center, u, v, off_plane(third, *orthonormal_pair(u, v), third.norm()), [(name, 0.0, 0.0)])


@dataclass
class Lines:
    """θ(a, k) = origin + a·dirs[k]: straight lines through one point; `length` is the unit of the crop."""
    origin: torch.Tensor
    dirs: list
    length: float
    points: list

    def at(self, a, b, c=0.0) -> torch.Tensor:
        return self.origin + a * self.dirs[int(b)]


def random_lines(theta_t, theta_local, net, cfg: LandscapeCfg) -> Lines:
    """`cfg.directions` filter-normalized random directions at θ_T (seeds dir_seed + 3 on: the planes use
    dir_seed .. dir_seed + 2), each rescaled to the length of θ*_S(α≈0) − θ_T."""
    length = (theta_local - theta_t).norm()
    dirs = [filter_normalized_direction(net, theta_t, cfg.dir_seed + 3 + k) for k in range(cfg.directions)]
    return Lines(theta_t, [d / d.norm() * length for d in dirs], length.item(), [("teacher", 0.0, 0.0)])


def window(cfg: LandscapeCfg, points) -> tuple[float, float, float, float]:
    """(a0, a1, b0, b1): the points' bounding box padded by `margin`, or a square crop around the teacher."""
    if cfg.view == "random":
        a0, a1, b0, b1 = -cfg.span, cfg.span, -cfg.span, cfg.span
    elif cfg.coords == "interp":  # pad by whole grid steps, so that λ = 0 and 1 are grid nodes
        k = round(cfg.margin * (cfg.resolution - 1) / (1 + 2 * cfg.margin))
        k = min(k, (cfg.resolution - 2) // 2)
        pad = k / (cfg.resolution - 1 - 2 * k)
        a0, a1, b0, b1 = -pad, 1 + pad, -pad, 1 + pad
    else:
        a_s, b_s = [p[1] for p in points], [p[2] for p in points]
        pad = cfg.margin * max(max(a_s) - min(a_s), max(b_s) - min(b_s))
        a0, a1, b0, b1 = min(a_s) - pad, max(a_s) + pad, min(b_s) - pad, max(b_s) + pad
    if cfg.crop > 0:  # around the origin point (the teacher, or the random view's center)
        p1 = points[1] if len(points) > 1 else (None, 1.0, 0.0)
        h = cfg.crop * math.hypot(p1[1], p1[2])
        a0, a1, b0, b1 = -h, h, -h, h
    return a0, a1, b0, b1


# ---------------------------------------------------------------- endpoints from the store

def endpoint_cfgs(cfg: LandscapeCfg) -> dict[str, DistillCfg]:
    """The distillation runs a landscape needs: 'local' (alpha = local_alpha) and/or 'nonlocal' (alpha = 1)."""
    need = {"nonlocal": ["nonlocal"], "shared": ["local", "nonlocal"], "lines": ["local"],
            "random": [] if cfg.center == "teacher" else [cfg.center]}[cfg.view]
    alphas = {"local": cfg.local_alpha, "nonlocal": 1.0}
    return {k: replace(cfg.distill, alpha=alphas[k]) for k in need}


def endpoints(cfg: LandscapeCfg, store: Store, device):
    """(template net with the teacher's weights and buffers, {name: float64 parameter vector})."""
    in_ch = data.load(cfg.distill.data, "cpu").shape[0]
    teacher, fresh, _ = make_nets(replace(cfg.distill, alpha=1.0), in_ch)
    vecs = {"teacher": flat_params(teacher), "fresh": flat_params(fresh)}
    for name, dcfg in endpoint_cfgs(cfg).items():
        res = store.get_or_run("distill", dcfg, lambda c, r: distill(c, r, device=device))
        t_state = res.load("teacher")
        if not all(torch.equal(t_state[k], v) for k, v in teacher.state_dict().items()):
            raise RuntimeError(f"stored teacher of distill/{res.hash} differs from make_nets' teacher")
        net = copy.deepcopy(teacher)
        net.load_state_dict(res.load("student"))
        vecs[name] = flat_params(net)
    return teacher, vecs


def build_plane(cfg: LandscapeCfg, teacher, vecs) -> Plane | Lines:
    if cfg.view == "lines":
        return random_lines(vecs["teacher"], vecs["local"], teacher, cfg)
    third = filter_normalized_direction(teacher, vecs["teacher"], cfg.dir_seed + 2)  # the planes start at θ_T
    if cfg.view == "nonlocal":
        return plane(vecs["teacher"], vecs["fresh"], vecs["nonlocal"], cfg.coords, third,
                     ("teacher", "fresh init", "student α=1"))
    if cfg.view == "shared":
        return plane(vecs["teacher"], vecs["local"], vecs["nonlocal"], cfg.coords, third,
                     ("teacher", f"student α={cfg.local_alpha:g}", "student α=1"))
    return random_plane(vecs[cfg.center], teacher, cfg.dir_seed, cfg.center)


# ---------------------------------------------------------------- evaluation of grid points

def ce_kl_sums(s_logits, t_logits) -> tuple[float, float]:
    """Cross-entropy and KL(teacher ‖ student) summed over rows, in float64 from the logits on: near the
    teacher the KL is 1e-5..1e-8, below float32 rounding of log-probabilities (~1e-7); KL directly, not
    CE − H, which loses digits when both sit near ln m. On the CPU for mps, which has no float64."""
    t_logits, s_logits = (x.cpu() if x.device.type == "mps" else x for x in (t_logits, s_logits))
    t_logp, s_logp = F.log_softmax(t_logits.double(), 1), F.log_softmax(s_logits.double(), 1)
    t_p = t_logp.exp()
    return -(t_p * s_logp).sum().item(), (t_p * (t_logp - s_logp)).sum().item()


class Evaluator:
    """Metrics of parameter vectors on fixed data; `loop` and `batched` give the same numbers."""

    def __init__(self, cfg: LandscapeCfg, teacher, device):
        self.cfg, self.device = cfg, device
        ds = data.load(cfg.distill.data, device)
        pds = probe_dataset(probe_data(cfg.distill), device)
        self.norm_eval, self.norm_probe = ds.normalize, pds.normalize
        self.x_eval = ds.x_train[:cfg.eval_size]
        self.x_ptr, self.y_ptr = pds.x_train[:cfg.probe_train], pds.y_train[:cfg.probe_train]
        self.x_pte, self.y_pte = pds.x_test[:cfg.probe_test], pds.y_test[:cfg.probe_test]
        self.num_classes = pds.num_classes
        self.teacher = copy.deepcopy(teacher).to(device).eval()
        self.net = copy.deepcopy(teacher).to(device).eval()
        self.names = [n for n, _ in self.net.named_parameters()]
        self.shapes = [p.shape for _, p in self.net.named_parameters()]
        self.buffers = {n: b for n, b in self.net.named_buffers()}
        with torch.no_grad():
            self.t_logits = [self.teacher(self.norm_eval(x)) for x in self.eval_batches()]
            self.t_feats = [self.teacher.features(self.norm_eval(x)) for x in self.eval_batches()]

    def eval_batches(self):
        return [self.x_eval[i:i + EVAL_BATCH] for i in range(0, len(self.x_eval), EVAL_BATCH)]

    def unflatten(self, theta: torch.Tensor) -> dict:
        out, i = {}, 0
        for n, s in zip(self.names, self.shapes):
            k = math.prod(s)
            out[n] = theta[i:i + k].view(s).float().to(self.device)  # cast on the CPU: mps has no float64
            i += k
        return out

    def point_buffers(self, params: dict) -> dict:
        """BN buffers at a grid point: the teacher's, or re-estimated on the eval subset."""
        if self.cfg.bn == "teacher" or not self.buffers:
            return self.buffers
        net = self.net
        with torch.no_grad():
            for n, p in net.named_parameters():
                p.copy_(params[n])
        rec = recalibrate_bn(net, self.x_eval, self.norm_eval)
        return {n: b for n, b in rec.named_buffers()}

    def metrics(self, theta, logits, feats, f_ptr, f_pte) -> dict:
        ce = kl = ekl = 0.0
        for s, t, fs, ft in zip(logits, self.t_logits, feats, self.t_feats):
            c, k = ce_kl_sums(s, t)
            ce, kl, ekl = ce + c, kl + k, ekl + ce_kl_sums(fs, ft)[1]
        n = len(self.x_eval)
        return {"loss": ce / n, "kl": kl / n, "enc_kl": ekl / n,
                "linear": math.nan if f_ptr is None else linear_probe(
                    f_ptr, self.y_ptr, f_pte, self.y_pte, self.num_classes, self.cfg.linear_steps,
                    self.cfg.distill.probe.linear_l2),
                "knn": math.nan if f_ptr is None else knn_probe(
                    f_ptr, self.y_ptr, f_pte, self.y_pte, self.num_classes, self.cfg.distill.probe.knn_k,
                    self.cfg.distill.probe.knn_metric),
                "norm": theta.norm().item()}

    @torch.no_grad()
    def loop(self, thetas: list[torch.Tensor]) -> list[dict]:
        """One network per point, plain forward passes."""
        out = []
        for theta in thetas:
            params = self.unflatten(theta)
            state = params | self.point_buffers(params)
            self.net.load_state_dict(state, strict=True)
            feats = [self.net.features(self.norm_eval(x)) for x in self.eval_batches()]
            logits = [self.net.head(f) for f in feats]
            f_ptr, f_pte = ((self._features(self.net.features, self.x_ptr),
                             self._features(self.net.features, self.x_pte)) if self.cfg.probes else (None, None))
            out.append(self.metrics(theta, logits, feats, f_ptr, f_pte))
        return out

    @torch.no_grad()
    def batched(self, thetas: list[torch.Tensor]) -> list[dict]:
        """All points of the chunk in one vmapped forward pass per image batch (torch.func)."""
        ps = [self.unflatten(t) for t in thetas]
        bs = [self.point_buffers(p) for p in ps]
        state = {n: torch.stack([s[n] for s in ps]) for n in ps[0]} | \
                {n: torch.stack([b[n] for b in bs]) for n in bs[0]}
        enc = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
        head = {k.removeprefix("head."): v for k, v in state.items() if k.startswith("head.")}
        feat_fn = vmap(lambda s, x: functional_call(self.net.encoder, s, (x,)), in_dims=(0, None))
        head_fn = vmap(lambda s, f: functional_call(self.net.head, s, (f,)), in_dims=(0, 0))
        feats = [feat_fn(enc, self.norm_eval(x)) for x in self.eval_batches()]   # each (K, B, d)
        logits = [head_fn(head, f) for f in feats]
        if self.cfg.probes:
            f_ptr = self._features(lambda x: feat_fn(enc, x), self.x_ptr, dim=1)
            f_pte = self._features(lambda x: feat_fn(enc, x), self.x_pte, dim=1)
        else:
            f_ptr = f_pte = [None] * len(thetas)
        return [self.metrics(t, [l[k] for l in logits], [f[k] for f in feats], f_ptr[k], f_pte[k])
                for k, t in enumerate(thetas)]

    def _features(self, fn, x, dim=0):
        return torch.cat([fn(self.norm_probe(x[i:i + EVAL_BATCH])) for i in range(0, len(x), EVAL_BATCH)], dim).float()


# ---------------------------------------------------------------- the engine

def basis_info(pl: Plane | Lines) -> dict:
    """Lengths of the plane's directions and the angle between them (interp axes are not orthogonal); for
    lines, their common length and the largest |cosine| between two of them."""
    if isinstance(pl, Lines):
        d = torch.stack(pl.dirs)
        cos = (d @ d.T) / pl.length ** 2
        return {"norm_dirs": pl.length, "max_abs_cos": (cos - torch.eye(len(d), dtype=cos.dtype)).abs().max().item(),
                "norm_origin": pl.origin.norm().item()}
    u, v = pl.u, pl.v
    return {"norm_u": u.norm().item(), "norm_v": v.norm().item(), "norm_w": pl.w.norm().item(),
            "cos_uv": (u @ v / (u.norm() * v.norm())).item(), "norm_origin": pl.origin.norm().item()}


def grid_axes(cfg: LandscapeCfg, pl: Plane | Lines):
    """The a axis (offsets) and b axis (offsets, or for lines the direction index) of the grid."""
    if cfg.view == "lines":  # the offsets of the crop around the teacher, whose unit is the same length
        h = cfg.crop * pl.length
        return torch.linspace(-h, h, cfg.resolution, dtype=torch.float64), \
            torch.arange(cfg.directions, dtype=torch.float64)
    a0, a1, b0, b1 = window(cfg, pl.points)
    return torch.linspace(a0, a1, cfg.resolution, dtype=torch.float64), \
        torch.linspace(b0, b1, cfg.resolution, dtype=torch.float64)


def landscape(cfg: LandscapeCfg, run=None, device=None, store: Store | None = None) -> dict:
    """Evaluate the grid; values are arrays (stack, b, a) that fill in chunk by chunk (resumable)."""
    device = training_device(device)  # the device every other engine computes on (the GPU, where there is one)
    store = store or (Store(run.path.parent.parent) if run else Store())
    teacher, vecs = endpoints(cfg, store, device)
    pl = build_plane(cfg, teacher, vecs)
    a_ax, b_ax = grid_axes(cfg, pl)
    shape = (len(cfg.stack), len(b_ax), len(a_ax))
    state = run.resume() if run else None
    if state is None:
        state = {"values": {m: torch.full(shape, math.nan, dtype=torch.float64) for m in METRICS},
                 "done": torch.zeros(shape, dtype=torch.bool), "evaluated": 0, "seconds": 0.0}
    todo = [idx for idx in zip(*torch.nonzero(~state["done"], as_tuple=True))]
    ev = Evaluator(cfg, teacher, device)
    evaluate = ev.batched if cfg.batched else ev.loop
    for start in bar(range(0, len(todo), cfg.chunk), desc=f"landscape {cfg.view}/{cfg.coords}",
                     total=math.ceil(len(todo) / cfg.chunk)):
        t = time.perf_counter()
        chunk = todo[start:start + cfg.chunk]
        thetas = [pl.at(a_ax[j].item(), b_ax[i].item(), cfg.stack[s]).float().double() for s, i, j in chunk]
        for (s, i, j), row in zip(chunk, evaluate(thetas)):
            for m in METRICS:
                state["values"][m][s, i, j] = row[m]
            state["done"][s, i, j] = True
        state["evaluated"] += len(chunk)
        state["seconds"] += time.perf_counter() - t
        if run:
            run.checkpoint(state)
    return {"a": a_ax.tolist(), "b": b_ax.tolist(), "stack": list(cfg.stack),
            "points": [{"name": n, "a": a, "b": b} for n, a, b in pl.points],
            "grids": {m: state["values"][m].tolist() for m in METRICS},
            "basis": basis_info(pl), "bn": cfg.bn,
            "points_evaluated": state["evaluated"], "eval_seconds": round(state["seconds"], 3),
            "seconds_per_point": state["seconds"] / max(state["evaluated"], 1)}
