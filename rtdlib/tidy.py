"""Stored results -> tidy DataFrames, one row per measurement, with chosen config fields as columns."""
from __future__ import annotations

import pandas as pd


def config_value(config: dict, dotted: str):
    for part in dotted.split("."):
        config = config[part]
    return config


def frame(results, table: str, keys=("model.arch", "model.norm", "seed")) -> pd.DataFrame:
    """Rows of metrics[table] of every result, plus the config fields `keys` and the result hash."""
    rows = []
    for r in results:
        extra = {k.split(".")[-1]: config_value(r.config, k) for k in keys} | {"hash": r.hash}
        rows += [row | extra for row in r.metrics[table]]
    return pd.DataFrame(rows)
