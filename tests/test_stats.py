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


def test_mean_sd_per_group_in_order_of_appearance():
    df = pd.DataFrame({"arch": ["b", "a", "b", "a", "b"], "acc": [0.1, 0.5, 0.3, 0.7, 0.5], "loss": [1, 2, 3, 4, 5]})
    out = stats.mean_sd(df, "arch")
    # b: 0.1, 0.3, 0.5: mean 0.3, sd 0.2; a: 0.5, 0.7: mean 0.6, sd √0.02 = 0.14142 (ddof 1)
    assert list(out.columns) == ["arch", "mean", "sd", "n"] and list(out.arch) == ["b", "a"]
    assert out[["mean", "sd", "n"]].to_numpy().ravel() == pytest.approx([0.3, 0.2, 3, 0.6, 0.141421, 2], abs=1e-6)
    assert stats.mean_sd(df, "arch", value="loss")["mean"].tolist() == [3.0, 3.0]


def test_fmt_gives_percent_points():
    assert stats.fmt(0.8512, 0.0123) == "85.1 ± 1.2"
    assert stats.fmt(0.5, 0.25, scale=10) == "5.0 ± 2.5"


def test_one_value_has_no_interval():
    mean, half = stats.mean_ci([4])
    assert mean == 4.0 and np.isnan(half)
    mean, lo, hi = stats.ci(np.array([[4.0], [5.0]]))
    assert mean.tolist() == [4.0, 5.0] and lo.shape == hi.shape == (2,) and np.isnan(lo).all() and np.isnan(hi).all()


def test_ci_by_hand():
    # as mean_ci: half-width 1.9632 at 95% by default; two values: sem 1, t_{0.975, 1} = 12.7062
    assert stats.ci([1, 2, 3, 4, 5]) == pytest.approx((3.0, 3.0 - 1.9632, 3.0 + 1.9632), abs=1e-4)
    assert stats.ci([1, 3]) == pytest.approx((2.0, 2.0 - 12.7062, 2.0 + 12.7062), abs=1e-4)


def test_no_spread_is_relative_to_the_values_per_row():
    # the threshold is 1e-9 × max(1, max |d|), per row: std 5e-7 at values near 1000 is rounding (≤ 1e-6),
    # std 1.5e-9 at values near 0 is not (> 1e-9); a std exactly at the threshold counts as no spread
    assert stats.no_spread(np.array([[1000.0, 1000.0 + 1e-6], [0.0, 3e-9]])).tolist() == [True, False]
    assert stats.no_spread([-1e-9, 1e-9])
    few = stats.no_spread(np.zeros((2, 3, 1)))  # one value per test: nothing to test against
    assert few.dtype == bool and few.shape == (2, 3) and few.all()


def test_p_values_keep_the_leading_shape_and_are_nan_below_two_pairs():
    for p in (stats.p_directional(np.zeros((2, 3, 1))), stats.p_tost(np.zeros((2, 3, 1)), 1.0),
              stats.p_outside(np.zeros((2, 3, 1)), 1.0)):
        assert p.shape == (2, 3) and np.isnan(p).all()
    assert np.isnan(stats.p_outside([0.5], 1.0))
    d = np.random.default_rng(3).normal(0.5, 1.0, (2, 3, 5))  # many families: the same as one by one
    for f in (stats.p_tost, stats.p_outside):
        assert f(d, 1.0) == pytest.approx(np.array([f(x, 1.0) for x in d.reshape(6, 5)]).reshape(2, 3))


def test_tests_with_two_pairs_by_hand():
    # d = [2, 3]: mean 2.5, se 0.5; against +1: t = 3 with 1 df, p = 1/2 − atan(3)/π = 0.10242 (the smaller side)
    assert stats.p_outside([2.0, 3.0], 1.0) == pytest.approx(0.5 - np.arctan(3) / np.pi, abs=1e-9)
    # d = [0.1, 0.3] within ±1: mean 0.2, se 0.1; the weaker side t = (1 − 0.2) / 0.1 = 8: p = 1/2 − atan(8)/π
    assert stats.p_tost([0.1, 0.3], 1.0) == pytest.approx(0.5 - np.arctan(8) / np.pi, abs=1e-9)


def test_bad_arguments_are_refused_naming_the_value_and_what_is_allowed():
    with pytest.raises(ConfigError, match=r"^unknown direction 0; allowed: 1, -1$"):
        stats.p_directional(A - B, 0)
    with pytest.raises(ConfigError, match=r"^unknown direction 2; allowed: 1, -1$"):
        stats.p_wilcoxon(A - B, 2)
    with pytest.raises(ConfigError, match=r"^equivalence margin delta = 0 is outside \(0.0, inf\]$"):
        stats.p_tost(A - B, 0)
    with pytest.raises(ConfigError, match=r"^sd of the differences = 0 is outside \(0.0, inf\]$"):
        stats.seeds_needed(1.0, 0)
    with pytest.raises(ConfigError, match=r"^unknown alternative 'both'; allowed: two-sided, less, greater$"):
        stats.min_wilcoxon_p(5, "both")
    for n in (0, 10_001):
        with pytest.raises(ConfigError, match=rf"^number of pairs n = {n} is outside \[1, 10000\]$"):
            stats.min_wilcoxon_p(n)
    with pytest.raises(ConfigError, match=r"^flatness eps = 0 is outside \(0.0, inf\]$"):
        stats.flat_from(curve([80.0] * 8), eps=0)
    for k in (1, 10_001):
        with pytest.raises(ConfigError, match=rf"^window k = {k} is outside \[2, 10000\]$"):
            stats.flat_from(curve([80.0] * 8), eps=0.5, k=k)
    with pytest.raises(ValueError, match=r"^equivalence within ±0.1 at sd 1 needs more than 5 seeds$"):
        stats.seeds_needed(0.1, 1.0, equivalence=True, most=5)


def test_holm_of_one_p_value_and_capped_at_one():
    assert stats.holm(0.02) == pytest.approx(0.02) and stats.holm(0.02).shape == ()
    assert stats.holm([0.6, 0.7]).tolist() == [1.0, 1.0]  # 2 × 0.6 = 1.2 is capped


def test_wilcoxon_floor_and_ties_at_zero():
    # two-sided floor 2 / 2^n, one-sided 1 / 2^n; one pair: 1 two-sided (not 2), 1/2 one-sided
    assert stats.min_wilcoxon_p(5) == 1 / 16 and stats.min_wilcoxon_p(5, "less") == 1 / 32
    assert stats.min_wilcoxon_p(1) == 1.0 and stats.min_wilcoxon_p(1, "greater") == 0.5
    assert stats.min_wilcoxon_p(10_000, "greater") == 0.0  # 2^-10000 underflows: the largest n allowed
    assert np.isnan(stats.p_wilcoxon([0.0] * 5))           # no nonzero difference: nothing to rank
    assert stats.p_wilcoxon([1.0] * 5) == pytest.approx(1 / 32)  # five equal positive differences


def test_minimum_detectable_margin_edges_and_level():
    assert all(np.isnan(stats.mde_tost(n, sd)) for n, sd in ((1, 1.0), (5, np.nan), (5, 0.0)))
    # each margin has exactly the asked power at its level (tost_power is tested by simulation above); the
    # last asks more power than the first bracket's end has (0.99996 at level 0.01): the bracket must grow
    for n, level, power in ((2, 0.05, 0.8), (20, 0.05, 0.8), (5, 0.01, 0.8), (2, 0.01, 0.99999)):
        margin = stats.mde_tost(n, 1.0, level, power)
        assert stats.tost_power(n, 1.0, margin, level) == pytest.approx(power, abs=1e-7)
    assert stats.mde_tost(20, 1.0) < 1.0  # below one sd: the bracket starts near 0, not at sd
    # it scales with the sd to the root finder's precision also for tiny sds (bracket and tolerance relative to sd)
    assert stats.mde_tost(5, 1e-7) == pytest.approx(1e-7 * stats.mde_tost(5, 1.0), rel=1e-9)


def test_seeds_needed_edges():
    # δ / sd = 2.5: power 0.42 with 2 pairs, 0.85 with 3 (TTestPower)
    assert stats.seeds_needed(2.5, 1.0) == 3
    # TOST: a margin of 20 sd is shown by 2 seeds; at level 0.01 a margin of one sd needs 16
    assert stats.seeds_needed(20.0, 1.0, equivalence=True) == 2
    assert stats.seeds_needed(1.0, 1.0, equivalence=True, level=0.01) == 16
    assert stats.tost_power(15, 1.0, 1.0, 0.01) < 0.8 <= stats.tost_power(16, 1.0, 1.0, 0.01)
    assert stats.seeds_needed(1.0, 1.0, equivalence=True, most=11) == 11  # the cap itself is tried
    with pytest.raises(ValueError, match="more than 10 seeds"):
        stats.seeds_needed(1.0, 1.0, equivalence=True, most=10)


def test_slope_ci_at_a_given_level_by_hand():
    df = curve([70 + 3 * i for i in range(8)], seeds=4, jitter=0.3)
    slopes = [np.polyfit(np.log2(g.step), g.value, 1)[0] for _, g in df.groupby("seed")]
    half = np.std(slopes, ddof=1) / 2 * sp.t.ppf(0.95, 3)  # 90% interval, 4 seeds
    assert stats.slope_ci(df, 0.9) == pytest.approx((np.mean(slopes), np.mean(slopes) - half, np.mean(slopes) + half))


def test_flat_from_edges():
    assert stats.flat_from(curve(PLATEAU), eps=0.5) == 512       # default window of 3 (4 would include 256)
    assert stats.flat_from(curve(PLATEAU), eps=0.5, k=2) == 512  # windows of 2 steps
    flat3 = curve([80.0] * 3)                                     # exactly k steps: one window
    assert stats.flat_from(flat3, eps=0.5) == 16
    ones = curve([80.0] * 8).assign(step=lambda d: d.step // 16)  # steps 1 ... 128: step 1 counts (log2 1 = 0)
    assert stats.flat_from(ones, eps=0.5) == 1
    # exactly eps per doubling on every seed (no jitter): the CI is the point ±eps, not inside
    for sign in (1, -1):
        assert stats.flat_from(curve([80 + sign * 0.5 * i for i in range(8)], jitter=0), eps=0.5) is None
    # the baseline must be beaten, not met; from its crossing on; and up to the last step
    assert stats.flat_from(curve([80.0] * 8, jitter=0), eps=0.5, baseline=80.0) is None
    assert stats.flat_from(curve([80.0] * 4 + [82.0] * 4), eps=10, baseline=81.0) == 256
    assert stats.flat_from(curve([80.0] * 7 + [78.0]), eps=10, baseline=79.0) is None
    assert stats.flat_from(curve([80.0] * 7 + [82.0]), eps=10, baseline=81.0) == 2048  # above at the last step only
