"""Error bars, paired tests over seeds, power, and the slope test that calls a training curve flat.

Library first: t-tests and intervals come from scipy, TOST (`ttost_paired`) and the power of the paired
t-test (`TTestPower`) from statsmodels. Written here, each tested against a library or a simulation:
`holm` (equal to statsmodels' `multipletests(method="holm")`, but vectorized over families: statsmodels
runs one family per call and forces a full garbage collection in each, ~0.1 s with torch loaded, too
slow for the engine's 2,000-claim null simulations), `min_wilcoxon_p` (exact floor of the signed-rank
test), `mde_tost` (no library gives the power of a paired TOST) and `flat_from`.

Paired data are differences d = a − b over seeds, on the last axis; every p-value function works on
arrays of differences of any leading shape (one family, many families).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

from .config import check_choice, check_range

ALTERNATIVES = ("two-sided", "less", "greater")
LEVEL = 0.05  # every test's significance level
POWER = 0.8   # the power a design is sized for


def mean_sd(df: pd.DataFrame, by, value="acc") -> pd.DataFrame:
    g = df.groupby(by, sort=False)[value]
    return pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()}).reset_index()


def mean_ci(values, level=0.95) -> tuple[float, float]:
    """Mean and the half-width of its t confidence interval."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(stats.sem(v) * stats.t.ppf((1 + level) / 2, len(v) - 1))


def ci(d, level=0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of the differences on the last axis and its t confidence interval (lo, hi)."""
    d = np.asarray(d, float)
    n = d.shape[-1]
    mean = d.mean(-1)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan
    half = d.std(-1, ddof=1) / np.sqrt(n) * stats.t.ppf((1 + level) / 2, n - 1)
    return mean, mean - half, mean + half


def no_spread(d) -> np.ndarray:
    """True where the differences have no variance to test against: fewer than 2, or equal up to rounding
    (a − b of fractions over the same test set, e.g.). A t statistic there would be a huge multiple of
    rounding noise, not evidence, so every p-value below is NaN there."""
    d = np.asarray(d, float)
    if d.shape[-1] < 2:
        return np.ones(d.shape[:-1], bool)
    return d.std(-1) <= 1e-9 * np.maximum(1.0, np.abs(d).max(-1))


def _masked(p, d) -> np.ndarray:
    return np.where(no_spread(d), np.nan, p)


@contextmanager
def _quiet():
    """The tests run on every row and no-spread rows are masked after: their warnings say nothing."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def p_directional(d, direction: int = 1) -> np.ndarray:
    """One-sided paired t-test of mean(d) > 0 (direction +1) or < 0 (direction −1), over the last axis."""
    check_choice("direction", direction, (1, -1))
    d = np.asarray(d, float)
    if d.shape[-1] < 2:
        return np.full(d.shape[:-1], np.nan)
    with _quiet():
        p = stats.ttest_1samp(d, 0.0, axis=-1, alternative="greater" if direction > 0 else "less").pvalue
    return _masked(p, d)


def p_tost(d, delta: float) -> np.ndarray:
    """TOST p-value (statsmodels `ttost_paired`) of |mean(d)| < delta over the last axis: below the level
    exactly when the (1 − 2·level) CI of the mean lies inside ±delta."""
    check_range("equivalence margin delta", delta, 0.0, np.inf, lo_open=True)
    d = np.asarray(d, float)
    if d.shape[-1] < 2:
        return np.full(d.shape[:-1], np.nan)
    flat = d.reshape(-1, d.shape[-1]).T  # statsmodels: observations on axis 0, one column per test
    with _quiet():
        p = ttost_paired(flat, np.zeros_like(flat), -delta, delta)[0]
    return _masked(np.asarray(p, float).reshape(d.shape[:-1]), d)


def p_outside(d, delta: float) -> np.ndarray:
    """p-value of the mean of d lying outside ±delta: the smaller of the one-sided t-tests of mean > delta
    and mean < −delta. Below the level exactly when the (1 − 2·level) CI lies entirely outside ±delta."""
    d = np.asarray(d, float)
    if d.shape[-1] < 2:
        return np.full(d.shape[:-1], np.nan)
    with _quiet():
        above = stats.ttest_1samp(d, delta, axis=-1, alternative="greater").pvalue
        below = stats.ttest_1samp(d, -delta, axis=-1, alternative="less").pvalue
    return _masked(np.minimum(above, below), d)


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values over the last axis (each row one family; step-down). NaN stays
    NaN and does not count as a test. Equal to statsmodels' multipletests(method="holm") on every
    family (tests/test_stats.py), vectorized over families."""
    p = np.asarray(pvalues, float)
    flat = p.reshape(-1, p.shape[-1]) if p.ndim else p.reshape(1, 1)
    out = np.full_like(flat, np.nan)
    for row, q in zip(out, flat):
        idx = np.flatnonzero(np.isfinite(q))
        order = idx[np.argsort(q[idx], kind="stable")]
        row[order] = np.minimum(1.0, np.maximum.accumulate((len(order) - np.arange(len(order))) * q[order]))
    return out.reshape(p.shape)


def p_wilcoxon(d, direction: int = 1) -> float | None:
    """Exact one-sided signed-rank p of the differences d in `direction`, or None where its floor (all n
    differences of one sign) is not below the level: there it could never decide, so it is not shown."""
    check_choice("direction", direction, (1, -1))
    d = np.asarray(d, float)
    if min_wilcoxon_p(max(1, len(d)), "greater") >= LEVEL:
        return None
    if not (d != 0).any():
        return float("nan")
    return float(stats.wilcoxon(d * direction, alternative="greater").pvalue)


def min_wilcoxon_p(n: int, alternative="two-sided") -> float:
    """Smallest p the exact signed-rank test can give with n pairs (all differences of one sign).

    Under H0 each of the 2^n sign patterns is equally likely; one-sided, only the most extreme one
    reaches the tail, two-sided both extremes do. If it exceeds the level, no data at this n can be
    significant.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    check_range("number of pairs n", n, 1, 10_000)
    return min(1.0, (1 if alternative != "two-sided" else 2) / 2 ** n)


def mde(n: int, sd: float, level: float = LEVEL, power: float = POWER) -> float:
    """Minimum detectable effect of a one-sided paired t-test with n pairs: the true mean difference
    (in sd's units) it finds significant at `level` with probability `power` (statsmodels TTestPower)."""
    if n < 2 or not np.isfinite(sd):
        return float("nan")
    return float(TTestPower().solve_power(nobs=n, alpha=level, power=power, alternative="larger") * sd)


def tost_power(n: int, sd: float, delta: float, level: float = LEVEL) -> float:
    """Probability that a paired TOST with n pairs and margin delta shows equivalence when the true
    difference is 0: E over the sample sd s of P(|mean| < delta − t·s/√n), one integral over s's chi
    distribution (the mean and s of normal data are independent)."""
    df, se = n - 1, sd / np.sqrt(n)
    t = stats.t.ppf(1 - level, df)

    def given_s(u):  # u = s / sd, with df·u² ~ chi²(df)
        room = delta / se - t * u
        return (2 * stats.norm.cdf(room) - 1) * stats.chi.pdf(u * np.sqrt(df), df) * np.sqrt(df) if room > 0 else 0.0

    return float(integrate.quad(given_s, 0, delta / se / t)[0])


def mde_tost(n: int, sd: float, level: float = LEVEL, power: float = POWER) -> float:
    """Smallest equivalence margin a paired TOST with n pairs meets with probability `power` when the
    true difference is 0 (no library gives the power of a paired TOST; checked by simulation in the tests)."""
    if n < 2 or not np.isfinite(sd) or sd <= 0:
        return float("nan")
    se = sd / np.sqrt(n)
    hi = se * (stats.t.ppf(1 - level, n - 1) + 1) * 4
    while tost_power(n, sd, hi, level) < power:
        hi *= 2
    return float(optimize.brentq(lambda delta: tost_power(n, sd, delta, level) - power, 1e-12 * sd, hi, xtol=1e-10 * sd))


def seeds_needed(delta: float, sd: float, equivalence: bool = False, level: float = LEVEL, power: float = POWER,
                 most: int = 1000) -> int:
    """Seeds a paired design needs to detect a true difference of delta (one-sided t-test, statsmodels
    TTestPower) or, for equivalence, to show |difference| < delta by TOST when the truth is 0; sd is the
    sd of the paired differences (from earlier runs)."""
    check_range("delta", delta, 0.0, np.inf, lo_open=True)
    check_range("sd of the differences", sd, 0.0, np.inf, lo_open=True)
    if not equivalence:
        if TTestPower().power(effect_size=delta / sd, nobs=2, alpha=level, alternative="larger") >= power:
            return 2  # the solver finds no root below the smallest design (it returns NaN there)
        n = TTestPower().solve_power(effect_size=delta / sd, alpha=level, power=power, alternative="larger")
        return max(2, int(np.ceil(n - 1e-9)))
    for n in range(2, most + 1):
        if tost_power(n, sd, delta, level) >= power:
            return n
    raise ValueError(f"equivalence within ±{delta:g} at sd {sd:g} needs more than {most} seeds")


def slope_ci(curve: pd.DataFrame, level=0.95) -> tuple[float, float, float]:
    """Slope of value vs log2(step), fit per seed by least squares, then mean over seeds with its t
    interval: (mean, lo, hi) in value units per doubling of steps. curve: columns seed, step, value."""
    slopes = [stats.linregress(np.log2(g.step.to_numpy(float)), g.value.to_numpy(float)).slope
              for _, g in curve.groupby("seed")]
    mean, lo, hi = ci(slopes, level)
    return float(mean), float(lo), float(hi)


def flat_from(curve: pd.DataFrame, eps: float, k: int = 3, baseline: float | None = None) -> int | None:
    """The probe step from which a training curve is flat, or None if it is not flat by its last probe.

    curve: columns seed, step, value (one value per seed and probe step; step 0 is ignored, log2 needs
    steps > 0). A window of k consecutive probe steps is flat when the 95% CI of its per-seed slope
    against log2(step) lies inside ±eps (value units per doubling of steps): a curve still rising (or
    falling) by eps per doubling is not flat, however small its last increment. The curve is flat from
    the first step of the earliest window from which every later window is flat, and never before its
    mean has crossed `baseline` for good (a curve that has not beaten its baseline is not "done").
    """
    check_range("flatness eps", eps, 0.0, np.inf, lo_open=True)
    check_range("window k", k, 2, 10_000)
    curve = curve[curve.step > 0]
    steps = np.sort(curve.step.unique())
    if len(steps) < k:
        return None
    flat = [(lambda lo, hi: -eps < lo and hi < eps)(*slope_ci(curve[curve.step.isin(steps[i:i + k])])[1:])
            for i in range(len(steps) - k + 1)]
    stays = np.flip(np.minimum.accumulate(np.flip(flat)))  # True where it and every later window are flat
    if not stays[-1]:
        return None
    at = steps[int(np.argmax(stays))]
    if baseline is not None:
        above = (curve.groupby("step").value.mean() > baseline).reindex(steps).to_numpy()
        stays_above = np.flip(np.minimum.accumulate(np.flip(above)))
        if not stays_above[-1]:
            return None
        at = max(at, steps[int(np.argmax(stays_above))])
    return int(at)


def fmt(mean: float, sd: float, scale=100.0) -> str:
    return f"{mean * scale:.1f} ± {sd * scale:.1f}"
