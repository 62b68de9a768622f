"""The claims engine where the truth is known: synthetic paired data per outcome, null simulations, and the
cases today's (old) rules got wrong."""
import dataclasses
import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp

from rtdlib import claims, stats, summary
from rtdlib.claims import Claim, Steps, engine
from rtdlib.config import ConfigError


def claim(kind="directional", family=("model",), steps=claims.FINAL, direction=1, delta=1.0, **kw):
    return Claim(key=kw.pop("key", "c"), figure="Fig. 1", year=2023, words="the student beats its teacher",
                 test="student − teacher > 0", arms=("student", "teacher"), metric="linear probe accuracy",
                 kind=kind, delta=delta, delta_why="smallest gain of interest", probes=("linear",), family=family,
                 direction=direction, steps=steps, **kw)


def frame(diffs: dict) -> pd.DataFrame:
    """Paired data with the given student − teacher differences per model (teacher 70 + seed)."""
    return pd.DataFrame([{"model": m, "seed": s, "teacher": 70.0 + s, "student": 70.0 + s + v}
                         for m, d in diffs.items() for s, v in enumerate(d)])


UP = [2.9, 3.1, 3.0, 2.8, 3.2]     # mean +3.0, sd 0.158: one-sided p < 1e-5
FLAT = [0.1, -0.1, 0.2, 0.0, -0.2]  # mean 0, sd 0.158
NOISY = [-2.0, 3.0, -1.0, 4.0, 0.5]  # mean +0.9, sd 2.56


@pytest.mark.parametrize("kind, diffs, outcome", [
    ("directional", {"A": UP, "B": UP}, "supported"),
    ("directional", {"A": [-v for v in UP], "B": UP}, "contradicted"),  # any test against the paper
    ("directional", {"A": UP, "B": NOISY}, "inconclusive"),             # not every test
    ("directional", {"A": FLAT}, "inconclusive"),
    ("equivalence", {"A": FLAT, "B": FLAT}, "supported"),               # 90% CI ±0.15 inside ±1
    ("equivalence", {"A": FLAT, "B": UP}, "contradicted"),              # B's CI [2.85, 3.15] outside ±1
    ("equivalence", {"A": NOISY}, "inconclusive"),                      # CI [−1.5, +3.3] straddles ±1
])
def test_known_effects_give_their_outcome(kind, diffs, outcome):
    row = claims.evaluate(claim(kind), frame(diffs))
    assert row["outcome"] == outcome, row["reason"]
    assert summary.row_problem(row) is None


def test_row_states_the_deciding_test_with_hand_computed_numbers():
    row = claims.evaluate(claim(), frame({"A": UP, "B": NOISY}))
    # NOISY decides (the weaker): mean 0.9, sd 2.5597, se 1.1447, t_{.975,4} = 2.7764: CI [-2.278, 4.078]
    assert row["deciding"] == "B" and row["n"] == 5
    assert (row["effect"], row["ci_low"], row["ci_high"]) == pytest.approx((0.9, -2.278, 4.078), abs=1e-3)
    p_noisy = stats.p_directional(np.array(NOISY))
    assert row["p_holm"] == pytest.approx(p_noisy)  # Holm: the larger of 2 p's is multiplied by 1
    # MDE at Holm's strictest level 0.05/2 with the observed sd
    assert row["mde"] == pytest.approx(stats.mde(5, float(np.std(NOISY, ddof=1)), 0.025))
    assert "1 of 2 tests" in row["reason"] and "underpowered" in row["reason"]
    assert [t["p_wilcoxon"] for t in row["tests"]][0] == pytest.approx(1 / 32)


def test_an_underpowered_row_says_how_many_seeds_its_delta_needs():
    z = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    row = claims.evaluate(claim(), frame({"A": list(0.5 + z * 2 / z.std(ddof=1))}))  # sd exactly 2 = 2δ
    # a one-sided paired t-test for d = δ / sd = 0.5 at α = 0.05 with 80% power needs 27 pairs (G*Power's table)
    assert row["seeds_needed"] == 27 and "needs 27 seeds" in row["reason"]
    powered = claims.evaluate(claim(), frame({"A": UP}))
    assert powered["seeds_needed"] == 2 and "needs" not in powered["reason"]


def test_a_claims_family_is_its_own_tests_not_the_notebooks():
    # today's rule: one Holm family per notebook, so adding unrelated tests changed a claim's p_Holm
    J = claims.Judge("01_student_vs_teacher", {"seeds": [0, 1, 2, 3, 4]})
    first = J.evaluate(claim(key="a"), frame({"A": UP}))
    for i in range(30):
        J.evaluate(claim(key=f"other{i}"), frame({"A": FLAT}))
    assert J.rows[0] == claims.evaluate(claim(key="a"), frame({"A": UP}), differs=J.differs)  # as if judged alone
    assert first["p_holm"] == pytest.approx(stats.p_directional(np.array(UP)))  # a family of one: Holm is the test
    pooled = stats.holm([stats.p_directional(np.array(UP))] + [stats.p_directional(np.array(FLAT))] * 30)[0]
    assert pooled == pytest.approx(31 * first["p_holm"])  # what the notebook-wide family would have given


def test_non_significance_is_not_equivalence():
    # today's rule scored "alike" when nothing was significant: NOISY is not significant either way...
    assert min(stats.p_directional(np.array(NOISY), 1), stats.p_directional(np.array(NOISY), -1)) > 0.025
    # ...but its CI is far wider than the margin: the engine says inconclusive, not supported
    assert claims.evaluate(claim("equivalence"), frame({"A": NOISY}))["outcome"] == "inconclusive"


def test_throughout_training_tests_every_probe_step_after_the_burn_in():
    # ahead at the end, significantly behind at step 468 (epoch 2): today's final-step test said "yes"
    rows = []
    for step, epoch, d in ((16, 0.07, [-5] * 5), (468, 2, [-v for v in UP]), (2106, 9, UP)):
        rows += [{"model": "A", "step": step, "epoch": epoch, "seed": s, "teacher": 70.0 + s, "student": 70.0 + s + v}
                 for s, v in enumerate(d + np.array(FLAT))]
    data = pd.DataFrame(rows)
    assert claims.evaluate(claim(), data)["outcome"] == "supported"  # final step only
    every = claims.evaluate(claim(steps=Steps("every", 1, "the paper's curves start at epoch 1")), data)
    assert every["outcome"] == "contradicted" and every["deciding"] == "A, step 468"
    assert [t["step"] for t in every["tests"]] == [468, 2106]  # step 16 lies in the burn-in
    mean = claims.evaluate(claim(steps=Steps("mean", 1, "area under the curve")), data)
    assert mean["tests"][0]["effect"] == pytest.approx(0.0)  # (−3 + 3) / 2


def test_not_shown_at_this_scale_and_bad_data():
    c = claim(unreachable=lambda s: "needs 4096 steps" if s.get("epochs", 0) < 8 else None)
    row = claims.evaluate(c, frame({"A": UP}), {"epochs": 2})
    assert row["outcome"] == "not shown at this scale" and row["reason"] == "needs 4096 steps" and row["tests"] == []
    assert {k: row[k] for k in ("effect", "ci_low", "ci_high", "ci_level", "n", "p_holm", "mde", "seeds_needed",
                                "deciding", "differs")} == dict.fromkeys(("effect", "ci_low", "ci_high", "ci_level"), None) | {
        "n": 0, "p_holm": None, "mde": None, "seeds_needed": None, "deciding": None, "differs": ""}
    assert claims.evaluate(c, frame({"A": UP}), {"epochs": 9})["outcome"] == "supported"
    with pytest.raises(ConfigError, match="lack the columns model"):
        claims.evaluate(claim(), frame({"A": UP}).drop(columns="model"))
    with pytest.raises(ConfigError, match="several rows for one seed"):
        claims.evaluate(claim(family=()), frame({"A": UP, "B": UP}))
    with pytest.raises(ConfigError, match="delta = 0"):
        claim(delta=0)
    one = claims.evaluate(claim(), frame({"A": [3.0]}))
    assert one["outcome"] == "inconclusive" and one["reason"] == "fewer than 2 seeds in a test: nothing can be tested"


def test_under_the_null_at_most_5_percent_of_directional_claims_are_supported():
    rng = np.random.default_rng(0)
    for k in (1, 3):  # 2,000 claims of k tests, 5 seeds, no true difference
        d = rng.normal(0.0, 1.0, (2000, k, 5))
        outcome, _, _ = claims.combine(*claims.test_pvalues(d, "directional", 1.0))
        supported = (outcome == 0).mean()
        assert supported <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 2000)  # 3 standard errors of the simulation
        if k == 1:
            assert supported == pytest.approx(0.05, abs=0.015)  # a single test is exactly at the level
    # and with a true effect at the design's MDE, about 80% are supported (the MDE means what it says)
    d = rng.normal(stats.mde(5, 1.0), 1.0, (2000, 1, 5))
    assert (claims.combine(*claims.test_pvalues(d, "directional", 1.0))[0] == 0).mean() == pytest.approx(0.8, abs=0.03)


def test_tost_shows_equivalence_at_most_5_percent_of_the_time_when_the_difference_equals_delta():
    rng = np.random.default_rng(1)
    for sd in (0.3, 1.0):  # 2,000 claims each, true difference exactly +δ (and −δ), 5 seeds
        for sign in (1, -1):
            d = rng.normal(sign * 1.0, sd, (2000, 1, 5))
            outcome, _, _ = claims.combine(*claims.test_pvalues(d, "equivalence", 1.0))
            assert (outcome == 0).mean() <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 2000)  # 3 standard errors
            if sd == 1.0:  # today's rule ("alike" = no significant difference) called most of these alike
                assert (sp.ttest_1samp(d[:, 0], 0.0, axis=-1).pvalue >= 0.05).mean() > 0.5


def test_judge_records_rows_that_summary_renders(tmp_path):
    run = SimpleNamespace(metrics={"steps": 2106}, config={"epochs": 9}, meta={"native_bf16": True})
    J = claims.Judge("01_student_vs_teacher", {"dataset": "fashion-mnist", "image_size": 16, "precision": "auto",
                                               "seeds": [0, 1, 2, 3, 4], "epochs": 9}, [run])
    assert J.differs == ("dataset fashion-mnist (paper: cifar10); input size 16 (paper: 32); 2,106 steps "
                         "(paper: 150 epochs); bf16 training (paper: fp32); 5 seeds (paper: 3)")
    J.evaluate(claim(key="a"), frame({"A": UP}))
    J.evaluate(claim("equivalence", key="b"), frame({"A": NOISY}))
    with pytest.raises(ValueError, match="judged twice"):
        J.evaluate(claim(key="a"), frame({"A": UP}))
    (tmp_path / "claims_01_student_vs_teacher.json").write_text(json.dumps(J.rows, allow_nan=False))
    text = summary.render("quick", tmp_path).read_text()
    assert "2 claims: 1 supported, 0 contradicted, 1 inconclusive, 0 not shown at this scale." in text
    assert "| Fig. 1 (2023) | the student beats its teacher | **supported**: student significantly above teacher in " \
           "the test | +3.00 [+2.80, +3.20] points (95% CI) | 5 |" in text
    assert "2,106 steps (paper: 150 epochs)" in text
    assert claims.sentence(J.rows[1]).startswith("**Fig. 1** (the student beats its teacher) — **inconclusive**: ")


def test_a_hand_edited_outcome_is_refused_in_one_line(tmp_path):
    row = claims.evaluate(claim(), frame({"A": UP}))
    (tmp_path / "claims_01_student_vs_teacher.json").write_text(json.dumps([row | {"outcome": "yes"}]))
    with pytest.raises(ValueError, match=r"claims_01_student_vs_teacher.json, row 0: outcome 'yes' is not one of "
                                         r"supported, contradicted, inconclusive, not shown at this scale$"):
        summary.render("quick", tmp_path)
    (tmp_path / "claims_01_student_vs_teacher.json").write_text(json.dumps([row | {"p_holm": "0.01"}]))
    with pytest.raises(ValueError, match="p_holm = '0.01' is not a finite number or null"):
        summary.render("quick", tmp_path)
    assert not (tmp_path / "SUMMARY.md").exists()
    with pytest.raises(ValueError, match="claim 0 of 01_student_vs_teacher: outcome 'yes'"):
        summary.save([row | {"outcome": "yes"}], "01_student_vs_teacher", "quick")


def test_claims_of_older_code_are_left_out_and_named_until_their_notebook_is_redrawn(tmp_path):
    row = claims.evaluate(claim(), frame({"A": UP}))
    (tmp_path / "claims_01_student_vs_teacher.json").write_text(json.dumps([row]))
    older = {k: v for k, v in row.items() if k != "seeds_needed"}  # as the engine wrote it before that field
    (tmp_path / "claims_02_locality.json").write_text(json.dumps([older]))
    text = summary.render("quick", tmp_path).read_text()
    assert "1 claims: 1 supported," in text and "`notebooks/02_locality.py`" not in text.split("**Incomplete:**")[0]
    assert ("**Incomplete:** the claims of `notebooks/02_locality.py` were recorded by older code and are left out; "
            "`make figures PROFILE=quick FORCE=1` redraws them.") in text
    (tmp_path / "claims_02_locality.json").write_text(json.dumps([{"seeds_needed": 3}]))  # not an engine row at all
    with pytest.raises(ValueError, match="claims_02_locality.json, row 0: not a claims-engine row"):
        summary.render("quick", tmp_path)


def test_locality_claims_say_which_alphas_a_profile_lacks():
    from rtdlib.claims import locality as C
    smoke = {"alphas": [0.0, 1e-10, 1.0]}
    assert [c.unreachable(smoke) for c in C.CLAIMS] == [None] * 5
    only_near = {"alphas": [1e-10]}
    assert C.FIG3_ALIKE.unreachable(only_near) == "the profile runs no α ∈ [0, 0.6] besides 1e-10"
    assert C.FIG3_WORSE.unreachable(only_near) == "the profile runs no α = 1"
    assert C.FIG3_ALIKE.unreachable({"alphas": [0.3, 1.0]}) == "the profile runs no α = 1e-10"

def test_a_claim_not_shown_at_this_scale_still_reports_its_tests_uncounted():
    c = claim(unreachable=lambda s: "a small net is stable already" if s.get("dataset") == "digits" else None)
    J = claims.Judge("06_lottery", {"dataset": "digits"})
    row = J.evaluate(c, frame({"A": UP}))
    here = J.at_this_scale(c, frame({"A": UP}))
    assert row["outcome"] == "not shown at this scale" and row["tests"] == []
    assert here["outcome"] == "supported" and here["effect"] == pytest.approx(3.0) and J.rows == [row]  # not counted
    assert here["differs"] == J.differs == "dataset digits (paper: cifar10)"
    assert J.at_this_scale(c, frame({"A": UP}).iloc[:0]) is None  # no data: nothing to report
    text = claims.sentence(row, here)
    assert text.startswith("**Fig. 1** (the student beats its teacher) — **not shown at this scale**: a small net is "
                           "stable already. Its test all the same, not counted: it would read *supported* (")


def test_a_claims_own_difference_from_the_paper_comes_first():
    J = claims.Judge("08_peer_consensus", {"dataset": "digits"})
    row = J.evaluate(claim(), frame({"A": UP}), differs="a projector head (paper: none)")
    assert row["differs"] == "a projector head (paper: none); dataset digits (paper: cifar10)"
    assert J.evaluate(claim(key="b"), frame({"A": UP}))["differs"] == "dataset digits (paper: cifar10)"


def test_steps_and_claims_refuse_bad_declarations_in_one_line():
    with pytest.raises(ConfigError, match=r"^unknown steps mode 'often'; allowed: final, every, mean$"):
        Steps("often")
    with pytest.raises(ConfigError, match=r"^burn-in \(epochs\) = -1 is outside \[0.0, inf\]$"):
        Steps("final", -1)
    with pytest.raises(ConfigError, match=r"^steps 'every' need a reason for their burn-in of 1.5 epochs$"):
        Steps("every", 1.5)
    assert Steps("final", 2).burn_in == 2  # the final step needs no reason
    with pytest.raises(ConfigError, match=r"^unknown claim kind 'alike'; allowed: directional, equivalence$"):
        claim("alike")
    with pytest.raises(ConfigError, match=r"^unknown direction 0; allowed: 1, -1$"):
        claim(direction=0)
    with pytest.raises(ConfigError, match=r"^claim c: delta = 0 is outside \(0.0, inf\]$"):
        claim(delta=0)
    for arms in (("a", "a"), ("a",), ("a", "b", "c")):
        with pytest.raises(ConfigError, match=rf"^claim c: arms must be two different columns, got {re.escape(repr(arms))}$"):
            dataclasses.replace(claim(), arms=arms)
    for name in ("figure", "words", "test", "metric", "delta_why"):
        with pytest.raises(ConfigError, match=rf"^claim c: {name} is empty$"):
            dataclasses.replace(claim(), **{name: "  "})
    with pytest.raises(ConfigError, match=r"^claim \?: key is empty$"):
        claim(key="")
    with pytest.raises(ConfigError, match=r"^unknown claim kind 'alike'; allowed: directional, equivalence$"):
        claims.test_pvalues(np.array(UP), "alike", 1.0)


def test_steps_say_where_along_training():
    assert Steps().text() == "final probe step"
    assert Steps("every", 1.5, "the curves start there").text() == "every probe step from epoch 1.5 on (the curves start there)"
    assert Steps("mean", 2, "area").text() == "mean over every probe step from epoch 2 on (area)"
    assert claim().columns() == ("model",) and claim(steps=Steps("every", 1, "x")).columns() == ("model", "step")
    assert claim(steps=Steps("mean", 1, "x")).columns() == ("model",)


def test_combine_by_hand():
    # family of 2: Holm multiplies the smaller p by 2, the larger by 1 (then the running max)
    outcome, h_for, h_against = claims.combine([[0.01, 0.02], [0.01, 0.2], [0.01, np.nan]], [[0.5, 0.9], [0.6, 0.02], [1, 1]])
    assert outcome.tolist() == [0, 1, 2]  # supported; contradicted (0.02 × 2 = 0.04 < 0.05); NaN counts as p = 1
    assert h_for.ravel() == pytest.approx([0.02, 0.02, 0.02, 0.2, 0.02, 1.0])
    assert h_against.ravel() == pytest.approx([1.0, 1.0, 0.6, 0.04, 1.0, 1.0])  # 2 × 0.5 = 1.0, then the running max
    # at level 0.01 none of these is significant
    assert claims.combine([[0.01, 0.02]], [[0.5, 0.9]], level=0.01)[0].tolist() == [2]
    # Holm-adjusted p exactly at the level (2 × 0.025) is not significant, for or against
    assert claims.combine([[0.025, 0.025], [0.5, 0.5]], [[0.5, 0.5], [0.025, 0.025]])[0].tolist() == [2, 2]


def test_select_steps_by_hand():
    rows = [{"model": m, "seed": s, "step": st, "epoch": st / 100, "student": 70.0 + st + s, "teacher": 70.0}
            for m, last in (("B", 300), ("A", 200)) for st in (0, 100, 200, 300)[:last // 100 + 1] for s in range(2)]
    data = pd.DataFrame(rows)
    final = engine.select_steps(claim(), data)  # each model's own last step
    assert list(zip(final.model, final.step)) == [("B", 300), ("B", 300), ("A", 200), ("A", 200)]
    assert set(engine.select_steps(claim(family=()), data).step) == {300}  # no family: the last step overall
    assert engine.select_steps(claim(), data.drop(columns=["step", "epoch"])).shape == (14, 4)  # no step column
    every = engine.select_steps(claim(steps=Steps("every", 1, "x")), data)
    assert sorted(set(every.step)) == [100, 200, 300]  # epoch 1 itself is kept
    assert sorted(set(engine.select_steps(claim(steps=Steps("every", 0, "x")), data).step)) == [100, 200, 300]  # no step 0
    early = data.assign(step=data.step // 100)  # steps 0, 1, 2, 3: step 1 is a probe step
    assert sorted(set(engine.select_steps(claim(steps=Steps("every", 0, "x")), early).step)) == [1, 2, 3]
    mean = engine.select_steps(claim(steps=Steps("mean", 1, "x")), data)
    assert mean.columns.tolist() == ["model", "seed", "student", "teacher"] and mean.model.tolist() == ["B", "B", "A", "A"]
    assert mean.student.tolist() == [270.0, 271.0, 220.0, 221.0]  # B: (100 + 200 + 300) / 3 + 70 + seed; A: 150 + 70
    with pytest.raises(ConfigError, match=r"^claim c: steps 'every' need the columns step and epoch; the data lack "
                                          r"epoch$"):
        engine.select_steps(claim(steps=Steps("every", 1, "x")), data.drop(columns="epoch"))
    with pytest.raises(ConfigError, match=r"the data lack epoch, step$"):
        engine.select_steps(claim(steps=Steps("mean", 1, "x")), data.drop(columns=["step", "epoch"]))


def test_bad_data_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"^claim c: the data lack the columns model; they have seed, teacher, "
                                          r"student$"):
        claims.evaluate(claim(), frame({"A": UP}).drop(columns="model"))
    late = frame({"A": UP}).assign(step=100, epoch=0.5)
    with pytest.raises(ConfigError, match=r"^claim c: no data at its steps \(every probe step from epoch 1 on \(x\)\)$"):
        claims.evaluate(claim(steps=Steps("every", 1, "x")), late)
    with pytest.raises(ConfigError, match=r"^claim c: several rows for one seed in test \('A',\); pass one value per "
                                          r"seed, test and arm \(columns model identify a test\)$"):
        claims.evaluate(claim(), pd.concat([frame({"A": UP}), frame({"A": UP})]))
    with pytest.raises(ConfigError, match=r"^claim c: the data lack the columns model, seed; they have teacher, student$"):
        claims.evaluate(claim(), frame({"A": UP}).drop(columns=["model", "seed"]))
    twice = pd.concat([frame({"A": UP}), frame({"A": UP})]).assign(step=1, epoch=1)
    with pytest.raises(ConfigError, match=r"test \('A', 1\); pass one value per seed, test and arm \(columns model, step "
                                          r"identify a test\)$"):
        claims.evaluate(claim(steps=Steps("every", 0, "x")), twice)
    with pytest.raises(ConfigError, match=r"columns none identify a test\)$"):
        claims.evaluate(claim(family=()), frame({"A": UP, "B": UP}))
    gap = frame({"A": UP, "B": UP})
    gap.loc[7, "student"] = np.nan
    with pytest.raises(ConfigError, match=r"^claim c: missing values \(NaN\) in test \('B',\)$"):
        claims.evaluate(claim(), gap)


def test_rows_and_reasons_for_every_outcome():
    both = claims.evaluate(claim(), frame({"A": UP, "B": UP}))
    assert both["reason"] == "student significantly above teacher in all 2 tests"
    assert claims.evaluate(claim(direction=-1), frame({"A": [-v for v in UP]}))["reason"] == \
        "student significantly below teacher in the test"
    against = claims.evaluate(claim(), frame({"A": UP, "B": [-v for v in UP]}))
    assert against["reason"] == "student significantly below teacher (B), against the paper"
    # the p shown is the deciding test's p against the paper, Holm-adjusted in a family of 2: doubled
    assert against["deciding"] == "B" and against["p_holm"] == pytest.approx(2 * stats.p_directional(np.array(UP)))
    assert claims.evaluate(claim(direction=-1), frame({"A": UP}))["reason"] == \
        "student significantly above teacher, against the paper"
    assert claims.evaluate(claim("equivalence"), frame({"A": FLAT}))["reason"] == \
        "student − teacher within ±δ = ±1 (TOST) in the test"
    outside = claims.evaluate(claim("equivalence", delta=0.5), frame({"A": FLAT, "B": UP}))
    assert outside["reason"] == "student − teacher entirely outside ±δ = ±0.5 (B)"
    # equivalence: the 90% CI (t_{0.95, 4} = 2.1318): NOISY 0.9 ± 2.1318 × 1.1447 = [−1.54, +3.34]; the margin a
    # TOST of 5 seeds at this sd shows with 80% power, and the seeds it needs for δ = 1
    sd = float(np.std(NOISY, ddof=1))
    margin, seeds = stats.mde_tost(5, sd), stats.seeds_needed(1.0, sd, True)
    noisy = claims.evaluate(claim("equivalence"), frame({"A": NOISY}))
    assert noisy["ci_level"] == pytest.approx(0.9) and (noisy["ci_low"], noisy["ci_high"]) == pytest.approx((-1.540, 3.340), abs=1e-3)
    assert noisy["mde"] == pytest.approx(margin) and noisy["seeds_needed"] == seeds
    assert noisy["reason"] == (f"0 of 1 tests within ±δ = ±1; weakest CI [-1.54, +3.34]; the smallest margin this "
                               f"design shows with 80% power is {margin:.2g} (80% power at δ needs {seeds} seeds at "
                               f"this SD)")
    assert noisy["p_holm"] == pytest.approx(stats.p_tost(np.array(NOISY), 1.0))
    one = claims.evaluate(claim(), frame({"A": NOISY}))
    assert one["reason"] == (f"0 of 1 tests significant in the paper's direction; weakest p_Holm = "
                             f"{stats.p_directional(np.array(NOISY)):.2g}; MDE {stats.mde(5, sd):.2g} > δ = 1: "
                             f"underpowered (80% power at δ needs {stats.seeds_needed(1.0, sd)} seeds at this SD)")
    flat = claims.evaluate(claim(), frame({"A": FLAT}))  # powered (MDE 0.21 < δ): no note on power
    assert flat["reason"] == f"0 of 1 tests significant in the paper's direction; weakest p_Holm = {flat['p_holm']:.2g}"
    assert flat["p_holm"] == pytest.approx(0.5) and flat["mde"] < 1
    order = claims.evaluate(claim(), frame({"B": UP, "A": NOISY}))  # tests in the data's order
    assert [t["model"] for t in order["tests"]] == ["B", "A"] and order["deciding"] == "A"
    assert order["seeds_needed"] == stats.seeds_needed(1.0, sd, level=0.025)  # at Holm's strictest level, α / 2
    # contradicted: the test most significant against the paper decides, though FLAT's p for it is also 1 after Holm
    mixed = claims.evaluate(claim(), frame({"C": FLAT, "B": [-v for v in UP]}))
    assert mixed["outcome"] == "contradicted" and mixed["deciding"] == "B"
    below = claims.evaluate(claim(direction=-1), frame({"A": [-v for v in UP]}))
    assert below["tests"][0]["p_wilcoxon"] == pytest.approx(1 / 32)  # signed-rank in the paper's direction
    two_row = claims.evaluate(claim(), frame({"A": [2.9, 3.1]}))  # two seeds are a test: sd 0.1414, t = 30, 1 df
    assert two_row["reason"] == "student significantly above teacher in the test"
    two = two_row["tests"][0]
    assert two["n"] == 2 and two["sd"] == pytest.approx(0.1 * np.sqrt(2)) and two["mde"] == pytest.approx(stats.mde(2, two["sd"]))
    same = claims.evaluate(claim(), frame({"A": [1.0] * 5}))  # a − b equal up to rounding on every seed
    assert same["outcome"] == "inconclusive" and same["reason"] == "no spread across seeds in any test: the t-test is undefined"
    assert same["seeds_needed"] is None and same["tests"][0]["p"] is None  # NaN becomes null


def test_a_design_beyond_the_seeds_searched_says_so(monkeypatch):
    monkeypatch.setattr(engine, "seeds_for", lambda *args, **kw: None)  # as beyond `most` (searching takes seconds)
    row = claims.evaluate(claim("equivalence"), frame({"A": NOISY}))
    assert row["seeds_needed"] is None and row["reason"].endswith("(80% power at δ needs more than 1,000 seeds at this SD)")


def test_labels_and_json():
    assert engine.label({"model": "A", "alpha": 0.3, "step": 2106.0}, ("model", "alpha", "step")) == "A, alpha 0.3, step 2,106"
    assert engine.label({"alpha": 2.0, "step": 2.5, "n": 4096}, ("alpha", "step", "n")) == "alpha 2, step 2.5, n 4096"
    assert engine.label({}, ()) == "the one test"
    out = engine.json_ready({"a": (np.int64(3), np.float32(0.5), float("nan")), "b": [{"c": np.nan}], "d": "x"})
    assert out == {"a": [3, 0.5, None], "b": [{"c": None}], "d": "x"}
    assert type(out["a"][0]) is int and type(out["a"][1]) is float
    json.dumps(out, allow_nan=False)


def test_seeds_for_needs_a_spread_and_a_reachable_design():
    assert engine.seeds_for(claim(), 0.0, 0.05) is None and engine.seeds_for(claim(), float("nan"), 0.05) is None
    assert engine.seeds_for(claim(), 2.0, 0.05) == 27  # as in the underpowered row above
    assert engine.seeds_for(claim("equivalence"), 1.0, 0.05) == 11  # test_stats: TOST for a margin of one sd
    assert engine.seeds_for(claim("equivalence"), 1.0, 0.05, most=10) is None  # beyond `most`
    assert engine.seeds_for(claim("equivalence"), 1.0, 0.01) == 16  # at the Holm level of a family


def test_pair_puts_each_arm_in_its_own_column_in_points():
    long = pd.DataFrame([{"model": m, "seed": s, "net": net, "acc": acc, "loss": 1.0 + s}
                         for m in ("vgg", "resnet") for s in (0, 1)
                         for net, acc in (("teacher", 0.5 + s / 100), ("student", 0.6), ("other", 0.9))])
    data = claims.pair(long, "net", "student", "teacher", on=("model",))
    assert data.columns.tolist() == ["model", "seed", "student", "teacher"]
    assert data.model.tolist() == ["vgg", "vgg", "resnet", "resnet"]  # in order of appearance
    assert data[["student", "teacher"]].to_numpy().ravel() == pytest.approx([60, 50, 60, 51, 60, 50, 60, 51])
    loss = claims.pair(long, "net", "student", "other", value="loss", scale=1.0)  # no `on`: one row per seed
    assert loss.columns.tolist() == ["seed", "student", "other"] and loss.student.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"^no rows with net = peer, random; present: teacher, student, other$"):
        claims.pair(long, "net", "random", "peer")


def test_differs_from_the_paper_names_every_compared_setting():
    from rtdlib.claims import judge
    paper = dict(judge.PROFILES["paper"]["01_student_vs_teacher"])
    assert claims.differs_from_paper("01_student_vs_teacher", paper, steps=123, precision="fp32") == \
        "none of the compared settings"  # the same epochs: the step count is not a difference
    ours = paper | {"image_size": None, "train_size": 1000, "archs": [["resnet18", "batch", 64]],
                    "head": {"out_dim": 1024}, "linear_optimizer": "lbfgs", "epochs": 9, "seeds": [0, 1, 2, 3, 4]}
    assert claims.differs_from_paper("01_student_vs_teacher", ours, steps=2106, precision="bf16") == (
        "input size native (paper: 32); training images 1000 (paper: all); networks resnet18 batch 64 (paper: "
        "resnet18 batch 64, vgg11 none 64); head out_dim 1024 (paper: out_dim 65536, hidden_dim 2048, bottleneck_dim "
        "256); linear probe fit by lbfgs (paper: adamw); 2,106 steps (paper: 150 epochs); bf16 training (paper: fp32); "
        "5 seeds (paper: 3)")
    assert claims.differs_from_paper("01_student_vs_teacher", {"train_size": None}) == \
        "none of the compared settings"  # a setting equal to the paper's None
    assert judge.text("train_size", None) == "all" and judge.text("image_size", None) == "native"
    assert judge.text("archs", []) == "[]" and judge.text("dataset", "digits") == "digits"


def test_trained_precision_resolves_auto_from_the_runs():
    from rtdlib.claims.judge import trained_precision
    bf16, fp32 = SimpleNamespace(meta={"native_bf16": True}), SimpleNamespace(meta={})
    assert trained_precision({"precision": "auto"}, [fp32, bf16]) == "bf16"
    assert trained_precision({"precision": "auto"}, [fp32]) == "fp32"
    assert trained_precision({"precision": "auto"}, []) == "auto"
    assert trained_precision({"precision": "fp32"}, [bf16]) == "fp32" and trained_precision({}, [bf16]) is None


def test_judge_tables_list_claims_and_every_test(tmp_path, monkeypatch):
    runs = [SimpleNamespace(metrics={"steps": 400}, config={}, meta={}),
            SimpleNamespace(metrics={"steps_per_epoch": 100}, config={"epochs": 9}, meta={})]
    J = claims.Judge("08_peer_consensus", {"dataset": "cifar10", "epochs": 9}, runs)
    assert J.differs == "900 steps (paper: 100 epochs)"  # the longest run's steps
    J.evaluate(claim(key="a"), frame({"A": UP, "B": UP}))
    J.evaluate(claim("equivalence", key="b"), frame({"A": NOISY}))
    table = J.table()
    assert table.columns.tolist() == ["figure", "claim", "outcome", "effect [CI]", "n", "p_Holm", "δ", "MDE", "reason"]
    assert table.outcome.tolist() == ["supported", "inconclusive"] and table.n.tolist() == [5, 5]
    assert table.claim.tolist() == ["the student beats its teacher"] * 2 and table["δ"].tolist() == [1.0, 1.0]
    assert table["p_Holm"].tolist() == [J.rows[0]["p_holm"], J.rows[1]["p_holm"]]
    assert table["MDE"].tolist() == [J.rows[0]["mde"], J.rows[1]["mde"]] and table.reason[1] == J.rows[1]["reason"]
    assert table["effect [CI]"][1] == "+0.90 [-1.54, +3.34] points (90% CI)"
    tests = J.tests()
    assert tests.claim.tolist() == ["a", "a", "b"] and tests.model.tolist() == ["A", "B", "A"]
    assert tests.effect.tolist() == pytest.approx([3.0, 3.0, 0.9])
    monkeypatch.delenv("RTD_FIGURES_DIR", raising=False)
    monkeypatch.setenv("RTD_FIGURES", str(tmp_path))
    assert J.save("quick") == tmp_path / "quick" / "claims_08_peer_consensus.json"
    assert json.loads((tmp_path / "quick" / "claims_08_peer_consensus.json").read_text()) == J.rows


def test_sentence_numbers():
    row = claims.evaluate(claim(), frame({"A": UP}))
    assert claims.sentence(row) == (
        f"**Fig. 1** (the student beats its teacher) — **supported**: student significantly above teacher in the "
        f"test; +3.00 [+2.80, +3.20] points (95% CI), n = 5, p_Holm = {row['p_holm']:.2g}, δ = 1, "
        f"MDE = {row['mde']:.2g}.")
    gone = claims.evaluate(claim(unreachable=lambda s: "too small"), frame({"A": UP}))
    assert claims.sentence(gone) == "**Fig. 1** (the student beats its teacher) — **not shown at this scale**: too small."
