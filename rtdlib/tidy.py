"""Stored results -> tidy DataFrames, one row per measurement, with chosen config fields as columns."""
from __future__ import annotations

import pandas as pd


def config_value(config: dict, dotted: str):
    for part in dotted.split("."):
        config = config[part]
    return config


def steps(result) -> int:
    """Optimizer steps a run trained: its recorded step count, else epochs x steps per epoch."""
    m = result.metrics
    return int(m["steps"]) if "steps" in m else int(m["steps_per_epoch"] * result.config["epochs"])


def frame(results, table: str, keys=("model.arch", "model.norm", "seed")) -> pd.DataFrame:
    """Rows of metrics[table] of every result, plus the config fields `keys` and the result hash. Rows
    with an epoch but no step (runs probed at epochs) get step = epoch x steps per epoch."""
    rows = []
    for r in results:
        extra = {k.split(".")[-1]: config_value(r.config, k) for k in keys} | {"hash": r.hash}
        per_epoch = r.metrics.get("steps_per_epoch")
        rows += [({"step": row["epoch"] * per_epoch} if "epoch" in row and "step" not in row and per_epoch else {})
                 | row | extra for row in r.metrics[table]]
    return pd.DataFrame(rows)
