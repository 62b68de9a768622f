"""The kinds of results the store holds and, for each, the function that computes an entry and its config
class, named as strings and imported on first use (so this module imports nothing of ours: the store, the
executor and the engines all use it without import cycles)."""
from __future__ import annotations

import importlib

# result kind -> ("module:function" computing one entry as fn(cfg, run) -> metrics dict, "module:class" of its config)
KINDS = {
    "distill": ("rtdlib.distill:distill", "rtdlib.config:DistillCfg"),
    "restart": ("rtdlib.restart:restart", "rtdlib.restart:RestartCfg"),
    "supervised": ("rtdlib.supervised:supervised", "rtdlib.supervised:SupervisedCfg"),
    "lottery": ("rtdlib.lottery:lottery", "rtdlib.lottery:LotteryCfg"),
    "connectivity": ("rtdlib.connectivity:connectivity", "rtdlib.connectivity:ConnectivityCfg"),
    "landscape": ("rtdlib.landscape:landscape", "rtdlib.landscape:LandscapeCfg"),
    "peers": ("rtdlib.peers:train_peers", "rtdlib.peers:PeersCfg"),
    "transfer": ("rtdlib.transfer:transfer", "rtdlib.transfer:TransferCfg"),
}


def engine(kind: str):
    """The function that computes one entry of `kind` (imported lazily)."""
    return kind_part(kind, 0)


def config_class(kind: str):
    """The config dataclass of `kind` (imported lazily)."""
    return kind_part(kind, 1)


def kind_part(kind: str, index: int):
    if kind not in KINDS:
        raise ValueError(f"unknown result kind {kind!r}; allowed: {', '.join(sorted(KINDS))}")
    module, _, name = KINDS[kind][index].partition(":")
    return getattr(importlib.import_module(module), name)
