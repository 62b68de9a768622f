"""Paired tests and the Holm-corrected family a notebook's verdicts come from."""
import numpy as np
import pytest

from rtdlib import stats, summary


def test_differences_equal_up_to_rounding_are_not_significant():
    a, b = np.array([0.3, 0.8]), np.array([0.2, 0.7])  # accuracies as fractions: a - b is 0.1 up to rounding
    assert np.ptp(a - b) > 0  # the rounding noise is there
    r = stats.paired_test(a, b)
    assert np.isnan(r["p_t"])
    fam = stats.Family()
    fam.add("x", a, b)
    assert not fam.result("x")["significant"] and "no significant difference" in fam.says("x")


def test_family_scales_both_columns_and_shows_only_significant_signed_results():
    fam = stats.Family()
    rng = np.random.default_rng(0)
    base = rng.normal(0.5, 0.05, 8)
    fam.add("up", base + 0.10 + rng.normal(0, 0.005, 8), base)
    fam.add("noise", base + rng.normal(0, 0.05, 8), base)
    t = fam.table(scale=100)
    raw = fam.table()
    assert np.allclose(t.mean_diff, raw.mean_diff * 100) and np.allclose(t.sd_diff, raw.sd_diff * 100)
    assert fam.shows("up") and not fam.shows("up", -1) and not fam.shows("noise")


@pytest.mark.parametrize("holds, expected", [([True, True], "yes"), ([True, False], "partly"), ([False], "no")])
def test_verdict(holds, expected):
    assert summary.verdict(holds) == expected


def test_verdict_needs_a_test():
    with pytest.raises(ValueError):
        summary.verdict([])


def test_family_refuses_a_comparison_after_its_results_were_read():
    fam = stats.Family()
    rng = np.random.default_rng(1)
    base = rng.normal(0.5, 0.05, 6)
    fam.add("up", base + 0.05 + rng.normal(0, 0.002, 6), base)
    p_before = fam.result("up")["p_holm"]
    with pytest.raises(ValueError, match="added after"):
        fam.add("late", base, base + 0.01)
    assert fam.result("up")["p_holm"] == p_before and list(fam.table().comparison) == ["up"]


@pytest.mark.parametrize("steps, means, expected", [
    ([0, 16, 128, 1024], [50, 60, 70.5, 71], 128),   # within 1 point from step 128 on
    ([1024, 0, 128, 16], [71, 50, 70.5, 60], 128),   # the same curve, unsorted
    ([0, 16, 128, 1024], [50, 70.8, 68, 71], 1024),  # dips out again at 128: not flattened
    ([0, 16, 128, 1024], [71, 71, 71, 71], 0),       # flat from the start
    ([0, 16, 128, 1024], [50, 60, 69, 71], 1024),    # still rising by 2 points: not flattened
])
def test_flat_from_is_the_first_step_after_which_the_curve_stays_near_its_end(steps, means, expected):
    assert stats.flat_from(steps, means, tol=1.0) == expected
