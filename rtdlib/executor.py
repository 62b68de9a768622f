"""Run many independent configs through the results store.

The default runs them one after another in this process: on a small machine PyTorch already uses
every core for one run. Whatever runs them, results land in the same store entries.
"""
from __future__ import annotations

import importlib

from .progress import bar
from .store import Store

# result kind -> "module:function" computing one entry as fn(cfg, run) -> metrics dict
ENGINES = {
    "distill": "rtdlib.distill:distill",
    "peers": "rtdlib.peers:train_peers",
}


def engine(kind: str):
    """The function that computes one entry of `kind` (imported lazily)."""
    if kind not in ENGINES:
        raise ValueError(f"unknown result kind {kind!r}; allowed: {', '.join(sorted(ENGINES))}")
    module, _, name = ENGINES[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def run_all(kind: str, cfgs, store: Store | None = None):
    """Results for every config, computing what the store does not hold yet."""
    store = store or Store()
    fn = engine(kind)
    return [store.get_or_run(kind, cfg, fn) for cfg in bar(cfgs, desc=f"{kind} runs")]
