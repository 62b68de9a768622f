"""Experiment configurations: frozen dataclasses, validation and content hashes.

A config is the whole description of one run; its hash names the run's folder in the
results store, so two runs share a folder exactly when every setting agrees.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import typing
from dataclasses import dataclass, field

from .errors import ConfigError, check_choice, check_range  # noqa: F401 (imported from here across rtdlib)

SCHEMA_VERSION = 2  # bump when a config's meaning changes without its fields changing (2: official conv init, full authors'-code head)

HEAD_PARTS = ("wn1", "lin1", "fn1", "wn2", "lin2", "fn2")
PAPER_HEAD_PARTS = ("lin1", "fn1", "wn2", "lin2")  # DESIGN.md: linear -> l2 norm -> weight-normed linear
# "_bnrecal": the same network with BN running statistics re-estimated on the probe's train images
PROBE_NETS = ("input", "teacher", "student", "teacher_bnrecal", "student_bnrecal")
PRECISIONS = ("auto", "fp32", "bf16")  # "auto": bf16 where the device runs it natively (native_bf16), else fp32
LINEAR_OPTIMIZERS = ("lbfgs", "adamw")  # the full-batch L-BFGS fit; the authors' probe (rtdlib.probe)


def added(default, *, stored_before=dataclasses.MISSING):
    """A setting introduced after results were stored: at the value those entries ran with (`default`, or
    `stored_before` if the default has changed since) it stays out of the hash, so they keep their names."""
    omitted = default if stored_before is dataclasses.MISSING else stored_before
    return field(default=default, metadata={"hash_omits": omitted})


def derived():
    """A setting computed from the others (never passed in): stored with the config, hashed unless None."""
    return field(default=None, init=False, metadata={"hash_omits": None})


@dataclass(frozen=True)
class DataCfg:
    name: str = "digits"               # a built-in dataset, or a .npz file / ImageFolder directory (see owndata)
    train_size: int | None = None      # first-N of a seeded permutation of the train split
    test_size: int | None = None
    image_size: int | None = None      # resize (bilinear) to this side length
    noise: bool = False                # replace train inputs by Gaussian noise of the same shape
    subset_seed: int = 0
    fingerprint: str | None = derived()  # a dataset by path: the hash of its content, which keys the store

    def __post_init__(self):
        from . import data, owndata
        if not isinstance(self.name, str) or self.name not in data.DATASETS:
            path = data.dataset_path(self.name)
            object.__setattr__(self, "name", str(path))
            object.__setattr__(self, "fingerprint", owndata.fingerprint(path))
        for what in ("train_size", "test_size", "image_size"):
            v = getattr(self, what)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ConfigError(f"{what} = {v!r} must be a positive integer or None")

    def hashed(self, d: dict) -> dict:
        """A dataset by path is keyed by its content, not by where it lies: the same arrays at two paths (or
        in a compressed and an uncompressed file) share store entries, two different datasets never do."""
        return d | {"name": "path"} if self.fingerprint else d


@dataclass(frozen=True)
class ModelCfg:
    arch: str = "small_vgg"
    norm: str = "batch"                # batch, instance, group, layer, none
    width: int = 32                    # base channel count of the small nets
    out_dim: int = 2 ** 16             # m, the head's output dimension
    hidden_dim: int = 2048
    bottleneck_dim: int = 256
    head_parts: tuple[str, ...] = PAPER_HEAD_PARTS
    authors_code: bool = False         # last-layer weight norm computed but not applied (public code)
    arch_source: str | None = derived()  # "package.module:function" encoders: hash of the module's file

    def __post_init__(self):
        from . import models
        if ":" in self.arch:
            object.__setattr__(self, "arch_source", models.encoders.custom_source_hash(self.arch))
        else:
            check_choice("architecture", self.arch, models.ENCODERS + ("package.module:function",))
        check_choice("norm layer", self.norm, models.NORMS)
        if self.arch.startswith("vit_"):
            check_choice("ViT norm layer", self.norm, ("layer", "none"))
        object.__setattr__(self, "head_parts", tuple(self.head_parts))
        for p in self.head_parts:
            check_choice("head part", p, HEAD_PARTS)
        for what in ("width", "out_dim", "hidden_dim", "bottleneck_dim"):
            v = getattr(self, what)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{what} = {v!r} must be a positive integer")


@dataclass(frozen=True)
class ProbeCfg:
    knn_k: int = 20
    knn_metric: str = "euclidean"      # the authors' choice; cosine as an option
    linear_steps: int = 100            # full-batch L-BFGS iterations
    linear_l2: float = 1e-4
    low_label: int | None = 10         # labels per class for the low-label probes (None: off)
    linear_optimizer: str = added("lbfgs")  # "adamw": the authors' probe for the full-label linear probe

    def __post_init__(self):
        check_choice("k-NN metric", self.knn_metric, ("euclidean", "cosine"))
        check_choice("linear probe optimizer", self.linear_optimizer, LINEAR_OPTIMIZERS)
        check_range("knn_k", self.knn_k, 1, 10_000)


@dataclass(frozen=True)
class DistillCfg:
    data: DataCfg = field(default_factory=DataCfg)
    model: ModelCfg = field(default_factory=ModelCfg)
    alpha: float = 1e-10               # locality: 0 = copy of the teacher, 1 = independent init
    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0          # paper: AdamW with weight decay not applied
    tau_teacher: float = 1.0
    tau_student: float = 1.0
    seed: int = 0
    probe_epochs: tuple[int, ...] = (0, 10)
    probe_steps: tuple[int, ...] = added(())  # probes also after these optimizer steps (log-spaced curves)
    probe: ProbeCfg = field(default_factory=ProbeCfg)
    probe_data: DataCfg | None = None  # None: the clean version of `data` (transfer: another dataset)
    probe_nets: tuple[str, ...] = PROBE_NETS
    channels_last: bool = True
    # the training step under bf16 autocast ("bf16"), in fp32, or "auto": bf16 where the device runs it natively
    # (bench/precision: 1.12x per whole run here, probes unchanged); probes always run in fp32
    precision: str = added("auto", stored_before="fp32")
    # AdamW weight decay of biases and other 1-d parameters (norm affines), None: `weight_decay`. The authors'
    # code leaves PyTorch's default 0.01 there (its second param group); the paper says no weight decay
    bias_weight_decay: float | None = added(None)
    # drop the last partial batch of every epoch (195 steps per CIFAR epoch at batch 256); False keeps it, as the
    # authors' DataLoader does (196 steps, the paper's Fig. 8), at the price of one smaller batch per epoch
    drop_last: bool = added(True)

    def __post_init__(self):
        check_choice("precision", self.precision, PRECISIONS)
        check_range("alpha", self.alpha, 0.0, 1.0)
        check_range("epochs", self.epochs, 0, 100_000)
        check_range("batch_size", self.batch_size, 1, 1 << 20)
        check_range("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        if self.bias_weight_decay is not None:
            check_range("bias_weight_decay", self.bias_weight_decay, 0.0, 1.0)
        check_range("tau_teacher", self.tau_teacher, 0.0, 1e6, lo_open=True)
        check_range("tau_student", self.tau_student, 0.0, 1e6, lo_open=True)
        object.__setattr__(self, "probe_epochs", tuple(sorted(set(self.probe_epochs))))
        object.__setattr__(self, "probe_steps", tuple(sorted(set(self.probe_steps))))
        for s in self.probe_steps:
            check_range("probe step", s, 1, 1 << 40)
        object.__setattr__(self, "probe_nets", tuple(self.probe_nets))
        for net in self.probe_nets:
            check_choice("probed network", net, PROBE_NETS)
        for e in self.probe_epochs:
            check_range("probe epoch", e, 0, self.epochs)


def to_dict(cfg) -> dict:
    """dataclasses.asdict without derived settings that are None: a built-in dataset's stored config reads as
    it did before datasets by path existed."""
    return {f.name: to_dict(v) if dataclasses.is_dataclass(v) else copy.deepcopy(v)
            for f in dataclasses.fields(cfg) for v in [getattr(cfg, f.name)] if f.init or v is not None}


def from_dict(cls, d: dict):
    """Rebuild a (nested) config dataclass from its dict, rejecting unknown keys."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    derived_names = {f.name for f in dataclasses.fields(cls) if not f.init}
    d = {k: v for k, v in d.items() if k not in derived_names}  # recomputed by the constructor
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} setting(s) {unknown}; allowed: {sorted(fields)}")
    kwargs = {}
    for name, value in d.items():
        sub = _dataclass_type(cls, fields[name])
        kwargs[name] = from_dict(sub, value) if sub and isinstance(value, dict) else value
    return cls(**kwargs)


@functools.lru_cache(maxsize=None)
def _type_hints(cls) -> dict:
    return typing.get_type_hints(cls)  # slow (it evaluates every annotation) and read for each stored entry


def _dataclass_type(cls, f):
    """The dataclass a field holds (also through `X | None`), or None."""
    hint = _type_hints(cls)[f.name]
    candidates = typing.get_args(hint) or (hint,)
    return next((c for c in candidates if dataclasses.is_dataclass(c)), None)


def replace(cfg, **changes):
    """dataclasses.replace that also accepts dotted keys, e.g. replace(c, **{"model.norm": "none"})."""
    nested: dict[str, dict] = {}
    flat = {}
    for key, value in changes.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            flat[key] = value
    for head, sub in nested.items():
        if not hasattr(cfg, head):
            raise ConfigError(f"unknown setting {head!r} of {type(cfg).__name__}")
        flat[head] = replace(getattr(cfg, head), **sub)
    allowed = {f.name for f in dataclasses.fields(cfg)}
    unknown = sorted(set(flat) - allowed)
    if unknown:
        raise ConfigError(f"unknown {type(cfg).__name__} setting(s) {unknown}; allowed: {sorted(allowed)}")
    return dataclasses.replace(cfg, **flat)


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def setting_of(config):
    """A config dict without its seeds (every key ending in "seed"): what the seeds of one setting share."""
    if isinstance(config, dict):
        return {k: setting_of(v) for k, v in config.items() if not k.endswith("seed")}
    return [setting_of(v) for v in config] if isinstance(config, (list, tuple)) else config


def hashed_dict(cfg):
    """to_dict without the `added` settings at the values earlier entries ran with (recursively)."""
    if not dataclasses.is_dataclass(cfg):
        return cfg
    out = {f.name: hashed_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)
           if not ("hash_omits" in f.metadata and getattr(cfg, f.name) == f.metadata["hash_omits"])}
    return cfg.hashed(out) if hasattr(cfg, "hashed") else out


def config_hash(kind: str, cfg) -> str:
    payload = {"kind": kind, "schema": SCHEMA_VERSION, "config": hashed_dict(cfg)}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:16]


def default_device() -> str:
    """RTD_DEVICE if set (checked), else CUDA when available, else Apple's MPS when available, else CPU."""
    import os
    import re

    import torch
    mps = torch.backends.mps.is_available()
    env = os.environ.get("RTD_DEVICE")
    if not env:
        return "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    available = {"cpu": True, "mps": mps, "cuda": torch.cuda.is_available()}
    kind = re.fullmatch(r"(cpu|mps|cuda)(:\d+)?", env)
    if not kind or not available[kind.group(1)]:
        raise ConfigError(f"RTD_DEVICE = {env!r} is not a device of this machine; allowed: "
                          f"{', '.join(k + (':N' if k == 'cuda' else '') for k, ok in available.items() if ok)}")
    return env


def sum_dtype(device):
    """The dtype of running sums: float64, except on mps, which has none."""
    import torch
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


def cpu_bf16_flags() -> list[str]:
    """The native bf16 instructions /proc/cpuinfo lists (none: bf16 matmuls are emulated in fp32 units)."""
    from .cpuinfo import fields
    flags = fields().get("flags", "").split()
    return [flag for flag in ("avx512_bf16", "amx_bf16") if flag in flags]


def native_bf16(device) -> bool:
    """Whether `device` runs bf16 natively: CUDA that supports it, or a CPU with avx512_bf16 or AMX (mps: no,
    its autocast coverage varies)."""
    import torch
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool(cpu_bf16_flags())


def resolved_precision(precision: str, device) -> str:
    """"fp32" or "bf16": what a run with this `precision` setting trains in on `device`."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"
