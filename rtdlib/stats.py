"""Error bars and paired tests over seeds."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def mean_sd(df: pd.DataFrame, by, value="acc") -> pd.DataFrame:
    g = df.groupby(by, sort=False)[value]
    return pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()}).reset_index()


def mean_ci(values, level=0.95) -> tuple[float, float]:
    """Mean and the half-width of its t confidence interval."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(stats.sem(v) * stats.t.ppf((1 + level) / 2, len(v) - 1))


def paired_test(a, b) -> dict:
    """Paired comparison of a vs b over the same seeds: mean difference, t-test, Wilcoxon, Cohen's d_z."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    out = {"n": len(d), "mean_diff": float(d.mean()), "sd_diff": float(d.std(ddof=1)) if len(d) > 1 else float("nan")}
    out["d_z"] = out["mean_diff"] / out["sd_diff"] if out["sd_diff"] and out["sd_diff"] > 0 else float("nan")
    out["p_t"] = float(stats.ttest_rel(a, b).pvalue) if len(d) > 1 and d.std() > 0 else float("nan")
    nonzero = d[d != 0]
    out["p_wilcoxon"] = float(stats.wilcoxon(a, b).pvalue) if len(nonzero) > 0 else float("nan")
    return out


def fmt(mean: float, sd: float, scale=100.0) -> str:
    return f"{mean * scale:.1f} ± {sd * scale:.1f}"
