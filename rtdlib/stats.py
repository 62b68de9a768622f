"""Error bars and paired tests over seeds."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .config import check_choice, check_range


def mean_sd(df: pd.DataFrame, by, value="acc") -> pd.DataFrame:
    g = df.groupby(by, sort=False)[value]
    return pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()}).reset_index()


def mean_ci(values, level=0.95) -> tuple[float, float]:
    """Mean and the half-width of its t confidence interval."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(stats.sem(v) * stats.t.ppf((1 + level) / 2, len(v) - 1))


ALTERNATIVES = ("two-sided", "less", "greater")


def flat_from(steps, means, tol: float) -> int:
    """The first step from which every later mean stays within `tol` of the last one: where a training curve
    has flattened. The last step itself means it has not (by then)."""
    order = np.argsort(np.asarray(steps))
    steps, means = np.asarray(steps)[order], np.asarray(means, dtype=float)[order]
    within = np.abs(means - means[-1]) < tol
    stays = np.flip(np.minimum.accumulate(np.flip(within)))  # True where it and every later step are within
    return int(steps[np.argmax(stays)])


def paired_test(a, b, alternative="two-sided") -> dict:
    """Paired comparison of a vs b over the same seeds: mean difference, t-test, Wilcoxon, Cohen's d_z.

    alternative "less" / "greater": one-sided tests of mean (median) a - b < 0 / > 0, for a
    directional hypothesis stated before looking at the data.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    out = {"n": len(d), "alternative": alternative, "mean_diff": float(d.mean()),
           "sd_diff": float(d.std(ddof=1)) if len(d) > 1 else float("nan")}
    out["d_z"] = out["mean_diff"] / out["sd_diff"] if out["sd_diff"] and out["sd_diff"] > 0 else float("nan")
    # equal differences up to rounding (e.g. a - b of fractions over the same test set) leave no variance to
    # test against: t would be a huge multiple of rounding noise, not evidence
    spread = d.std() > 1e-9 * max(1.0, float(np.abs(d).max()))
    out["p_t"] = float(stats.ttest_rel(a, b, alternative=alternative).pvalue) if len(d) > 1 and spread else float("nan")
    nonzero = d[d != 0]
    out["p_wilcoxon"] = float(stats.wilcoxon(a, b, alternative=alternative).pvalue) if len(nonzero) > 0 else float("nan")
    return out


def min_wilcoxon_p(n: int, alternative="two-sided") -> float:
    """Smallest p the exact signed-rank test can give with n pairs (all differences of one sign).

    Under H0 each of the 2^n sign patterns is equally likely; one-sided, only the most extreme one
    reaches the tail, two-sided both extremes do. If it exceeds the level, no data at this n can be
    significant.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    check_range("number of pairs n", n, 1, 10_000)
    return min(1.0, (1 if alternative != "two-sided" else 2) / 2 ** n)


def fmt(mean: float, sd: float, scale=100.0) -> str:
    return f"{mean * scale:.1f} ± {sd * scale:.1f}"


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down; NaN stays NaN and does not count as a test)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    order = idx[np.argsort(p[idx], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


class Family:
    """The paired comparisons of one notebook, Holm-corrected together: a notebook says "beats" only where
    the corrected paired t-test over seeds is significant (the exact Wilcoxon test cannot reach 0.05 two-sided
    below 6 pairs, so the t-test decides; both are reported)."""

    def __init__(self, level=0.05):
        self.level, self.rows, self._corrected = level, {}, None

    def add(self, key: str, a, b, alternative="two-sided") -> str:
        """Compare a vs b (same seeds, same order); returns `key`."""
        if self._corrected is not None:  # a verdict already read would silently change under it
            raise ValueError(f"comparison {key!r} added after the family's results were read; "
                             "add every comparison first")
        if key in self.rows:
            raise ValueError(f"comparison {key!r} was added twice")
        self.rows[key] = paired_test(a, b, alternative)
        return key

    def corrected(self) -> pd.DataFrame:
        """The Holm-corrected comparisons (computed once: the family is closed from here on)."""
        if self._corrected is None:
            df = pd.DataFrame.from_dict(self.rows, orient="index").rename_axis("comparison")
            if len(df):
                df["p_holm"] = holm(df["p_t"])
                df["significant"] = df["p_holm"] < self.level
            self._corrected = df
        return self._corrected

    def table(self, scale: float = 1.0) -> pd.DataFrame:
        """One row per comparison; `scale` multiplies mean_diff and sd_diff alike (100: accuracies in points)."""
        df = self.corrected().reset_index()
        if len(df):
            df[["mean_diff", "sd_diff"]] *= scale
        return df

    def result(self, key: str) -> dict:
        df = self.corrected()
        if key not in df.index:
            raise KeyError(f"no comparison {key!r}; added: {', '.join(df.index)}")
        return df.loc[key].to_dict()

    def shows(self, key: str, sign: int = 1) -> bool:
        """Whether the corrected test is significant with the mean difference of the given sign (+1: a > b)."""
        r = self.result(key)
        return bool(r["significant"]) and r["mean_diff"] * sign > 0

    def says(self, key: str, better="beats", worse="is below", scale=100.0, unit="points") -> str:
        """'beats (+2.1 ± 0.8 points, p_Holm = 0.010, n = 5)', or 'shows no significant difference (...)'."""
        r = self.result(key)
        verb = (better if r["mean_diff"] > 0 else worse) if r["significant"] else "shows no significant difference"
        return (f"{verb} ({r['mean_diff'] * scale:+.1f} ± {r['sd_diff'] * scale:.1f} {unit}, "
                f"p_Holm = {r['p_holm']:.3g}, n = {r['n']})")
