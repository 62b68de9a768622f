"""The claims engine: a claim declared as data (`Claim`), judged on paired data by one rule (`evaluate`).

The rule (`combine`), for a claim whose family holds k tests (the tests behind this claim, nothing else):
- directional (the paper says a > b, or a < b): per test a one-sided paired t-test in the paper's direction
  and one in the opposite direction, each set Holm-corrected within the family. supported: every test is
  significant in the paper's direction; contradicted: any test is significant in the opposite direction;
  inconclusive: otherwise.
- equivalence ("alike", "no gain", "as robust as", "does not begin"): per test a TOST with margin δ, and the
  test of the mean lying outside ±δ, each set Holm-corrected within the family. supported: every test's CI
  lies inside ±δ (TOST significant); contradicted: any test's CI lies entirely outside ±δ; inconclusive:
  otherwise (a CI straddles ±δ).
- not shown at this scale: the claim's `unreachable` says why these settings cannot show it (nothing is
  tested then).
A test with fewer than 2 seeds or no spread across them has no p-value: it counts in the family and is
never significant. Significance level 0.05 throughout.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from .. import stats
from ..config import ConfigError, check_choice, check_range
from ..summary import OUTCOMES
KINDS = ("directional", "equivalence")
STEP_MODES = ("final", "every", "mean")
LEVEL = stats.LEVEL


@dataclass(frozen=True)
class Steps:
    """Where along training a claim is tested: "final" (the last probe step), "every" (each probe step from
    `burn_in` epochs on is its own test in the family), or "mean" (the metric averaged per seed over the
    probe steps from `burn_in` epochs on: the area under the probe curve, one test)."""
    mode: str = "final"
    burn_in: float = 0.0
    why: str = ""

    def __post_init__(self):
        check_choice("steps mode", self.mode, STEP_MODES)
        check_range("burn-in (epochs)", self.burn_in, 0.0, math.inf)
        if self.mode != "final" and not self.why:
            raise ConfigError(f"steps {self.mode!r} need a reason for their burn-in of {self.burn_in:g} epochs")

    def text(self) -> str:
        if self.mode == "final":
            return "final probe step"
        where = f"every probe step from epoch {self.burn_in:g} on ({self.why})"
        return where if self.mode == "every" else f"mean over {where}"


FINAL = Steps()


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, declared before any run.

    figure, year, words: where the paper says it and its words. arms (a, b): the two data columns
    compared, a − b paired over seeds, in `unit`s of `metric`. kind: "directional" (the paper says
    a > b when direction = +1, a < b when −1) or "equivalence" (|a − b| < delta). delta: the smallest
    effect of interest (directional) or the equivalence margin, in `unit`s, with delta_why one sentence
    why. test: the operational test in one line. probes: the probe(s) it is read on. family: the data
    columns whose every combination is one test of the claim's family (e.g. ("model",)); steps: where
    along training (Steps). unreachable(settings) -> reason or None: why a profile cannot show the claim.
    """
    key: str
    figure: str
    year: int
    words: str
    test: str
    arms: tuple[str, str]
    metric: str
    kind: str
    delta: float
    delta_why: str
    probes: tuple[str, ...]
    family: tuple[str, ...]
    direction: int = 1
    steps: Steps = FINAL
    unit: str = "points"
    unreachable: Callable[[dict], str | None] | None = field(default=None, compare=False)

    def __post_init__(self):
        check_choice("claim kind", self.kind, KINDS)
        check_choice("direction", self.direction, (1, -1))
        check_range(f"claim {self.key}: delta", self.delta, 0.0, math.inf, lo_open=True)
        if len(self.arms) != 2 or self.arms[0] == self.arms[1]:
            raise ConfigError(f"claim {self.key}: arms must be two different columns, got {self.arms!r}")
        for name in ("key", "figure", "words", "test", "metric", "delta_why"):
            if not getattr(self, name).strip():
                raise ConfigError(f"claim {self.key or '?'}: {name} is empty")

    def columns(self) -> tuple[str, ...]:
        """The test-identifying columns evaluate() groups by."""
        return self.family + (("step",) if self.steps.mode == "every" else ())


def test_pvalues(d, kind: str, delta: float, direction: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(p for the claim, p against it) per test, uncorrected, over the last axis of the differences d:
    directional: one-sided t-tests in and against the paper's direction; equivalence: TOST and the test
    of lying outside ±delta."""
    check_choice("claim kind", kind, KINDS)
    if kind == "directional":
        return stats.p_directional(d, direction), stats.p_directional(d, -direction)
    return stats.p_tost(d, delta), stats.p_outside(d, delta)


def combine(p_for, p_against, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rule of the module docstring, over the last axis (one family per row): (outcome index into
    OUTCOMES, Holm-adjusted p for, Holm-adjusted p against). A missing p (NaN) counts as a test, never
    significant."""
    h_for = stats.holm(np.nan_to_num(np.asarray(p_for, float), nan=1.0))
    h_against = stats.holm(np.nan_to_num(np.asarray(p_against, float), nan=1.0))
    contradicted = (h_against < level).any(-1)
    supported = (h_for < level).all(-1) & ~contradicted
    return np.where(contradicted, 1, np.where(supported, 0, 2)), h_for, h_against


def select_steps(claim: Claim, data: pd.DataFrame) -> pd.DataFrame:
    """The rows a claim is tested on, with one row per (test, seed) and "mean" steps averaged per seed."""
    a, b = claim.arms
    if claim.steps.mode == "final":
        if "step" not in data:
            return data
        last = data.groupby(list(claim.family), sort=False).step.transform("max") if claim.family else data.step.max()
        return data[data.step == last]
    missing = {"step", "epoch"} - set(data)
    if missing:
        raise ConfigError(f"claim {claim.key}: steps {claim.steps.mode!r} need the columns step and epoch; "
                          f"the data lack {', '.join(sorted(missing))}")
    kept = data[(data.epoch >= claim.steps.burn_in) & (data.step > 0)]
    if claim.steps.mode == "mean":
        kept = kept.groupby([*claim.family, "seed"], sort=False)[[a, b]].mean().reset_index()
    return kept


def evaluate(claim: Claim, data: pd.DataFrame, settings: dict | None = None, differs: str = "") -> dict:
    """Judge one claim on tidy paired data: columns seed, the claim's arms (a, b) in its unit, its family
    columns, and step/epoch when its steps are not "final" (rows of other steps are dropped for "final").
    Returns one outcome row (summary.ROW_FIELDS), with every test of the family under "tests"."""
    row = {"figure": claim.figure, "year": claim.year, "claim": claim.key, "words": claim.words,
           "test": claim.test, "kind": claim.kind, "arms": list(claim.arms), "metric": claim.metric,
           "unit": claim.unit, "probes": list(claim.probes), "steps": claim.steps.text(),
           "family": list(claim.columns()), "delta": claim.delta, "delta_why": claim.delta_why,
           "differs": differs}
    why_not = claim.unreachable(settings or {}) if claim.unreachable else None
    if why_not:
        return row | {"outcome": OUTCOMES[3], "reason": why_not, "effect": None, "ci_low": None, "ci_high": None,
                      "ci_level": None, "n": 0, "p_holm": None, "mde": None, "seeds_needed": None, "deciding": None,
                      "tests": []}
    needed = {"seed", *claim.arms, *claim.family}
    if not needed <= set(data):
        raise ConfigError(f"claim {claim.key}: the data lack the columns {', '.join(sorted(needed - set(data)))}; "
                          f"they have {', '.join(map(str, data.columns))}")
    data = select_steps(claim, data)
    cols = list(claim.columns())
    groups = list(data.groupby(cols, sort=False)) if cols else [((), data)]
    if not groups:
        raise ConfigError(f"claim {claim.key}: no data at its steps ({claim.steps.text()})")
    tests, diffs = [], []
    for values, g in groups:
        if g.seed.duplicated().any():
            raise ConfigError(f"claim {claim.key}: several rows for one seed in test {values!r}; pass one value "
                              f"per seed, test and arm (columns {', '.join(cols) or 'none'} identify a test)")
        d = (g[claim.arms[0]] - g[claim.arms[1]]).to_numpy(float)
        if np.isnan(d).any():
            raise ConfigError(f"claim {claim.key}: missing values (NaN) in test {values!r}")
        diffs.append(d)
        tests.append(dict(zip(cols, values if isinstance(values, tuple) else (values,))))
    p_for, p_against = (np.array(p) for p in zip(*(test_pvalues(d, claim.kind, claim.delta, claim.direction)
                                                     for d in diffs)))
    outcome, h_for, h_against = combine(p_for, p_against)
    k = len(diffs)
    ci_level = 0.95 if claim.kind == "directional" else 1 - 2 * LEVEL
    for t, d, pf, hf, ha in zip(tests, diffs, p_for, h_for, h_against):
        mean, lo, hi = stats.ci(d, ci_level)
        sd = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
        detect = stats.mde if claim.kind == "directional" else stats.mde_tost
        t.update(n=len(d), effect=float(mean), ci_low=float(lo), ci_high=float(hi), sd=sd, p=float(pf),
                 p_holm=float(hf), p_holm_against=float(ha), mde=detect(len(d), sd, LEVEL / k),
                 seeds_needed=seeds_for(claim, sd, LEVEL / k))
        if claim.kind == "directional":  # shown, not deciding; None where its floor is not below the level
            t["p_wilcoxon"] = stats.p_wilcoxon(d, claim.direction)
    decider = int(np.argmin(h_against)) if outcome == 1 else int(np.argmax(h_for))
    dec = tests[decider]
    row |= {"outcome": OUTCOMES[int(outcome)], "reason": reason(claim, int(outcome), tests, decider),
            "effect": dec["effect"], "ci_low": dec["ci_low"], "ci_high": dec["ci_high"], "ci_level": ci_level,
            "n": dec["n"], "p_holm": dec["p_holm_against"] if outcome == 1 else dec["p_holm"], "mde": dec["mde"],
            "seeds_needed": dec["seeds_needed"],
            "deciding": label(dec, cols), "tests": tests}
    return json_ready(row)


MOST_SEEDS = 1000  # a need beyond this is reported as "more than"


def seeds_for(claim: Claim, sd: float, level: float, most: int = MOST_SEEDS) -> int | None:
    """Seeds this test needs for 80% power at the claim's δ (at the Holm level of its weakest test, α / k),
    with the SD of these runs' differences; None without a spread, or beyond `most`."""
    if not (np.isfinite(sd) and sd > 0):
        return None
    try:
        return stats.seeds_needed(claim.delta, sd, claim.kind != "directional", level, most=most)
    except ValueError:
        return None


def power_note(claim: Claim, dec: dict) -> str:
    """'; MDE 3.8 > δ = 1: underpowered (80% power at δ needs 28 seeds at this SD)' or '' when powered."""
    if not dec["mde"] > claim.delta:
        return ""
    needs = (f"needs {dec['seeds_needed']} seeds" if dec["seeds_needed"]
             else f"needs more than {MOST_SEEDS:,} seeds")
    head = (f"MDE {dec['mde']:.2g} > δ = {claim.delta:g}: underpowered" if claim.kind == "directional" else
            f"the smallest margin this design shows with 80% power is {dec['mde']:.2g}")
    return f"; {head} (80% power at δ {needs} at this SD)"


def label(test: dict, cols) -> str:
    """'small_vgg (no BN), alpha 0.3, step 234': the family values identifying a test (names say themselves)."""
    def one(c, v):
        if isinstance(v, str):
            return v
        return f"{c} {int(v):,}" if float(v).is_integer() and c == "step" else f"{c} {v:g}"
    return ", ".join(one(c, test[c]) for c in cols) or "the one test"


def reason(claim: Claim, outcome: int, tests: list[dict], decider: int) -> str:
    """One line on why the claim got its outcome."""
    k, cols, dec = len(tests), claim.columns(), tests[decider]
    where = f" ({label(dec, cols)})" if k > 1 else ""
    if any(t["n"] < 2 for t in tests):
        return "fewer than 2 seeds in a test: nothing can be tested"
    if all(math.isnan(t["p"]) for t in tests):
        return "no spread across seeds in any test: the t-test is undefined"
    n_for = sum(t["p_holm"] < LEVEL for t in tests)
    a, b = claim.arms
    every = f"all {k} tests" if k > 1 else "the test"
    if claim.kind == "directional":
        side = "above" if claim.direction > 0 else "below"
        if outcome == 0:
            return f"{a} significantly {side} {b} in {every}"
        if outcome == 1:
            return f"{a} significantly {'below' if claim.direction > 0 else 'above'} {b}{where}, against the paper"
        return (f"{n_for} of {k} tests significant in the paper's direction; weakest{where} p_Holm = "
                f"{dec['p_holm']:.2g}{power_note(claim, dec)}")
    if outcome == 0:
        return f"{a} − {b} within ±δ = ±{claim.delta:g} (TOST) in {every}"
    if outcome == 1:
        return f"{a} − {b} entirely outside ±δ = ±{claim.delta:g}{where}"
    return (f"{n_for} of {k} tests within ±δ = ±{claim.delta:g}; weakest{where} CI [{dec['ci_low']:+.2f}, "
            f"{dec['ci_high']:+.2f}]{power_note(claim, dec)}")


def json_ready(value):
    """NaN → None (JSON has no NaN), numpy scalars → Python numbers, recursively."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value
