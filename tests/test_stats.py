"""Paired tests, Holm, TOST, power and the slope test: hand-computed values, and ours against the library."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

from rtdlib import stats
from rtdlib.config import ConfigError

A = np.array([0.5, 0.6, 0.7, 0.8, 0.9])
B = A - np.array([0.02, 0.01, 0.03, 0.01, 0.03])  # d: mean 0.02, sd 0.01, t = 0.02 / (0.01 / √5) = 4.472, df 4


def test_paired_test_is_paired():
    # paired t = 4.472 with 4 df; the t cdf for 4 df in closed form (θ = atan(t/2), two-sided
    # p = 1 − sin θ (1 + cos² θ / 2)) gives 0.011056, one-sided 0.005528; unpaired it would be 0.845
    assert stats.p_directional(A - B, 1) == pytest.approx(0.005528, abs=1e-6)
    assert stats.p_directional(A - B, -1) == pytest.approx(1 - 0.005528, abs=1e-6)
    assert sp.ttest_ind(A, B).pvalue == pytest.approx(0.845, abs=1e-3)  # what the unpaired mutant would give
    # two pairs are a test too: t = 1.5 / (0.7071 / √2) = 3 with 1 df, one-sided p = 1/2 − atan(3)/π = 0.10242
    assert stats.p_directional([1.0, 2.0]) == pytest.approx(0.10242, abs=1e-5)


def test_holm_is_holm_not_bonferroni():
    # sorted p .01, .02, .03 times 3, 2, 1 = .03, .04, .03, then running max: .03, .04, .04 (Bonferroni: .03, .06, .09)
    assert stats.holm([0.01, 0.02, 0.03]) == pytest.approx([0.03, 0.04, 0.04])
    assert stats.holm([0.03, np.nan, 0.01]) == pytest.approx([0.03, np.nan, 0.02], nan_ok=True)  # NaN: not a test


def test_holm_equals_statsmodels_on_every_family_and_runs_over_many():
    rng = np.random.default_rng(0)  # few families: statsmodels garbage-collects in every call (~0.1 s or more)
    fams = rng.uniform(0, 0.2, (8, 6))
    fams[::3, 2] = fams[::3, 4]  # ties
    ours = stats.holm(fams)
    for p, q in zip(fams, ours):
        assert q == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)


def test_mean_ci_uses_the_two_sided_quantile():
    # sem = √2.5 / √5 = 0.7071; t_{0.975, 4} = 2.7764: half-width 1.963 (t_{0.95, 4} would give 1.508)
    assert stats.mean_ci([1, 2, 3, 4, 5]) == pytest.approx((3.0, 1.9632), abs=1e-4)
    # two values already have an interval: sem = 1, t_{0.975, 1} = tan(0.475 π) = 12.706
    assert stats.mean_ci([1, 3]) == pytest.approx((2.0, 12.7062), abs=1e-4)
    assert stats.mean_ci([2, 2, 2]) == (2.0, 0.0)  # no spread: a zero-width interval, not NaN


def test_differences_equal_up_to_rounding_are_not_significant():
    a, b = np.array([0.3, 0.8]), np.array([0.2, 0.7])  # accuracies as fractions: a - b is 0.1 up to rounding
    assert np.ptp(a - b) > 0  # the rounding noise is there
    assert np.isnan(stats.p_directional(a - b)) and np.isnan(stats.p_tost(a - b, 1.0))


def test_tost_is_statsmodels_and_decides_by_the_90_percent_ci():
    rng = np.random.default_rng(1)
    d = rng.normal(rng.uniform(-3, 3, (300, 1)), 1.0, (300, 5))
    ours = stats.p_tost(d, 1.0)
    assert ours[:20] == pytest.approx([ttost_paired(x, np.zeros(5), -1.0, 1.0)[0] for x in d[:20]])
    _, lo, hi = stats.ci(d, 0.90)
    assert np.array_equal(ours < 0.05, (lo > -1.0) & (hi < 1.0))
    assert np.array_equal(stats.p_outside(d, 1.0) < 0.05, (lo > 1.0) | (hi < -1.0))
    assert 0 < ((ours < 0.05).sum()) < 300 and 0 < (stats.p_outside(d, 1.0) < 0.05).sum()  # both sides occur


def test_hand_example_of_tost():
    # d = [0.1, -0.1, 0.2, 0.0, -0.2]: mean 0, sd 0.1581, se 0.0707; t vs ±0.5 = ±7.071 with 4 df: each
    # one-sided p (closed form as above) 0.0010553, and TOST's p is the larger of the two
    d = np.array([0.1, -0.1, 0.2, 0.0, -0.2])
    assert stats.p_tost(d, 0.5) == pytest.approx(0.0010553, abs=1e-7)


def test_minimum_detectable_effect_of_the_paired_one_sided_test():
    # TTestPower: d_z = 1.3594 at n = 5 (one-sided, 0.05, 80%); check by simulation that it has 80% power
    assert stats.mde(5, 2.0) == pytest.approx(2 * 1.359417, abs=1e-5)
    rng = np.random.default_rng(2)
    d = rng.normal(stats.mde(5, 1.0), 1.0, (20_000, 5))
    assert (stats.p_directional(d) < 0.05).mean() == pytest.approx(0.80, abs=0.012)
    assert np.isnan(stats.mde(1, 1.0)) and stats.mde(2, 1.0) == pytest.approx(5.7928, abs=1e-4)


def test_minimum_detectable_margin_of_tost_has_80_percent_power_by_simulation():
    for n in (3, 5):
        margin = stats.mde_tost(n, 1.0)
        d = np.random.default_rng(n).normal(0.0, 1.0, (20_000, n))
        assert (stats.p_tost(d, margin) < 0.05).mean() == pytest.approx(0.80, abs=0.012)
    assert stats.mde_tost(5, 2.0) == pytest.approx(2 * stats.mde_tost(5, 1.0), rel=1e-6)  # scales with the sd


def test_seeds_needed():
    # δ / sd = 1: TTestPower solves n = 7.73 -> 8 seeds; the TOST needs 11 for a margin of one sd
    assert stats.seeds_needed(1.0, 1.0) == 8
    assert TTestPower().power(1.0, 7, 0.05, alternative="larger") < 0.8 <= TTestPower().power(1.0, 8, 0.05,
                                                                                               alternative="larger")
    assert stats.seeds_needed(1.0, 1.0, equivalence=True) == 11
    assert stats.tost_power(10, 1.0, 1.0) < 0.8 <= stats.tost_power(11, 1.0, 1.0)
    # δ / sd = 6.3: two seeds already have 80% power (where statsmodels' solver returns NaN)
    assert stats.seeds_needed(1.0, 0.158) == 2 and TTestPower().power(1 / 0.158, 2, 0.05, alternative="larger") > 0.8
    assert stats.seeds_needed(1.0, 0.5) == 4  # d = 2: power 0.71 at 3 pairs, 0.91 at 4
    assert TTestPower().power(2.0, 3, 0.05, alternative="larger") < 0.8 <= TTestPower().power(2.0, 4, 0.05,
                                                                                               alternative="larger")
    with pytest.raises(ConfigError, match="delta = 0"):
        stats.seeds_needed(0, 1.0)


def test_wilcoxon_is_shown_only_where_it_can_reach_the_level():
    assert stats.p_wilcoxon([1, 2, 3, 4]) is None  # floor 1/16 = 0.0625
    assert stats.p_wilcoxon([1, 2, 3, 4, 5]) == pytest.approx(1 / 32)
    assert stats.p_wilcoxon([1, 2, 3, 4, 5], -1) == pytest.approx(1.0)


STEPS = [16, 32, 64, 128, 256, 512, 1024, 2048]  # doublings: log2 = 4 ... 11


def curve(values, seeds=3, jitter=0.01):
    """Per-seed curves: the given means with a small fixed offset per seed and step."""
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"seed": s, "step": st, "value": v + rng.normal(0, jitter)}
                         for s in range(seeds) for st, v in zip(STEPS, values)])


PLATEAU = [70 + 3 * min(i, 5) for i in range(8)]  # +3 per doubling up to step 512, then 85 flat


@pytest.mark.parametrize("values, baseline, expected", [
    (PLATEAU, None, 512),   # the window (256, 512, 1024) still rises 1.5 per doubling; (512, 1024, 2048) is flat
    (PLATEAU, 84.0, 512),   # crosses 84 at 512 too
    (PLATEAU, 86.0, None),  # flat but never above its baseline: not marked
    ([80.0] * 8, 79.0, 16),
    ([80.0] * 8, 80.5, None),
    ([70 + 0.9 * i for i in range(8)], None, None),  # +0.9 per doubling forever (last increment < 1): not flat
    ([80 - 0.9 * i for i in range(8)], None, None),  # falling: not flat either
])
def test_flat_from_is_a_slope_test(values, baseline, expected):
    assert stats.flat_from(curve(values), eps=0.5, k=3, baseline=baseline) == expected


def test_flat_from_needs_the_slope_ci_inside_eps():
    # one seed rising 2 per doubling, two flat: the mean slope 0.67 has a CI far wider than ±0.5
    df = pd.concat([curve([85.0] * 8, seeds=2), curve([70 + 2 * i for i in range(8)], seeds=1).assign(seed=2)])
    assert stats.flat_from(df, eps=0.5) is None
    mean, lo, hi = stats.slope_ci(df[df.step >= 512])
    assert mean == pytest.approx(2 / 3, abs=0.02) and lo < -0.5 and hi > 0.5
