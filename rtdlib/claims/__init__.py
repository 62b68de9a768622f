"""Claims of both papers, declared once as data and judged by one engine.

Declare (one module per notebook, e.g. `rtdlib/claims/student_vs_teacher.py`)::

    from rtdlib.claims import Claim, Steps
    TABLE1_TEACHER = Claim(
        key="table1_student_vs_teacher", figure="Table 1", year=2023,
        words="Students outperform the teacher ... in the linear probe",      # the paper's words
        test="final linear probe, student − teacher > 0 per architecture",   # the operational test, one line
        arms=("student", "teacher"), metric="linear probe accuracy", unit="points",
        kind="directional", direction=+1,                                     # the paper's direction: a > b
        delta=1.0, delta_why="...one sentence...",                            # smallest effect of interest
        probes=("linear",), family=("model",),                                # one test per model
        steps=Steps("every", burn_in=1, why="..."))                           # default: the final probe step

`kind="equivalence"` for "alike", "no gain", "as robust as", "does not begin": delta is then the margin.
`steps`: FINAL (default), Steps("every", burn_in, why): each probe step from `burn_in` epochs on is a
test of the family ("throughout training"); Steps("mean", burn_in, why): the per-seed mean over those
steps (the area under the probe curve: "converges faster"). `unreachable=lambda settings: reason or None`
marks a claim "not shown at this scale" for profiles that cannot reach its regime. A test against a
bound other than 0 is a choice of arms: "round-2 motion below 20% of round 1" is arms (round-2 motion,
0.2 × round-1 motion) with direction −1.

Evaluate, in the notebook::

    from rtdlib import claims
    from rtdlib.claims import student_vs_teacher as C
    J = claims.Judge("01_student_vs_teacher", P, results)   # settings and runs: "differs from the paper"
    data = claims.pair(probes[probes.probe == "linear"], "net", "student", "teacher", on=("model", "step", "epoch"))
    row = J.evaluate(C.TABLE1_TEACHER, data)    # columns: seed, the arms, the family columns (+ step, epoch)
    display(Markdown(claims.sentence(row)))    # prose computed from the outcome
    J.table(); J.tests()                       # one line per claim; every test of every family
    J.save(profile)                            # figures/<profile>/claims_<notebook>.json -> SUMMARY.md

The rule (engine.combine, documented in rtdlib/claims/engine.py): Holm within each claim's family only;
directional: supported if every test is significant one-sided in the paper's direction, contradicted if
any is significant the other way, else inconclusive; equivalence: TOST with δ, supported if every 90% CI
lies inside ±δ, contradicted if any lies entirely outside, else inconclusive. Nothing in a notebook
decides or overrides an outcome. Sizing a design: `stats.seeds_needed(delta, sd)` (or `equivalence=True`)
from the SD of the paired differences of earlier runs (`J.tests()` lists it per test).
"""
from .engine import FINAL, KINDS, Claim, Steps, combine, evaluate, test_pvalues
from .judge import Judge, differs_from_paper, pair, sentence
from ..summary import OUTCOMES, RULE

__all__ = ["Claim", "Steps", "FINAL", "KINDS", "OUTCOMES", "RULE", "Judge", "evaluate", "combine", "test_pvalues",
           "pair", "differs_from_paper", "sentence"]
