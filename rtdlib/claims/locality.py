"""Claims of Figs. 3 and 17 (2023 paper), judged in notebooks/02_locality.py.

The student is initialized at locality α from its teacher. REFERENCE is the α the paper uses everywhere
else (1e-10; α = 0 differs from it only by float32 rounding, see the notebook), FAR an independent
initialization. Data columns: "student" (at the α of the row), "reference" (the student at REFERENCE,
same seed), "far" (the student at FAR), "teacher"; for Fig. 17 "far" and "reference" hold log10 KLs."""
import math

from .engine import Claim, Steps

REFERENCE, FAR, ALIKE_UP_TO = 1e-10, 1.0, 0.6
ONE_TEST_PER_NET = ("model",)
GAIN_WHY = ("a difference under 1 point of linear probe accuracy is below what Fig. 3 resolves (its curves are "
            "several points apart where the paper sees a difference)")
CURVE = Steps("mean", burn_in=1, why="'slows down the convergence' is about the whole curve: the per-seed mean over "
                                     "every probe step from epoch 1 on, the area under the probe curve")


def lacks(*alphas):
    """unreachable(settings): the α's a claim compares that the profile does not run (None: it runs them all)."""
    def why(settings):
        missing = [a for a in alphas if a not in settings.get("alphas", ())]
        return f"the profile runs no α = {', '.join(f'{a:g}' for a in missing)}" if missing else None
    return why


def no_alike_alpha(settings):
    """unreachable(settings) of FIG3_ALIKE: it needs the reference and another α in [0, ALIKE_UP_TO]."""
    others = [a for a in settings.get("alphas", ()) if a <= ALIKE_UP_TO and a != REFERENCE]
    return lacks(REFERENCE)(settings) or (None if others else
                                          f"the profile runs no α ∈ [0, {ALIKE_UP_TO:g}] besides {REFERENCE:g}")


FIG3_ALIKE = Claim(
    key="fig3_alike_for_small_alpha", figure="Fig. 3", year=2023,
    words="Random teacher distillation behaves very similarly for all α ∈ [0, 0.6].",
    test=f"final linear probe, student at α − student at α = {REFERENCE:g} within ±δ (TOST, 90% CI), for every α of "
         f"the profile in [0, {ALIKE_UP_TO:g}], per architecture",
    arms=("student", "reference"), metric="linear probe accuracy", kind="equivalence", delta=1.0,
    delta_why="the same 1 point that counts as a difference in the other claims of this figure: alike means closer",
    probes=("linear",), family=("model", "alpha"), unreachable=no_alike_alpha)

FIG3_SLOWER = Claim(
    key="fig3_larger_alpha_converges_slower", figure="Fig. 3", year=2023,
    words="Increasing α more slows down the convergence.",
    test=f"linear probe averaged over the probe steps from epoch 1 on, student at α = {REFERENCE:g} − student at "
         f"α = {FAR:g} > 0, one-sided paired t, per architecture",
    arms=("reference", "far"), metric="linear probe accuracy", kind="directional", delta=1.0, delta_why=GAIN_WHY,
    probes=("linear",), family=ONE_TEST_PER_NET, steps=CURVE, unreachable=lacks(REFERENCE, FAR))

FIG3_WORSE = Claim(
    key="fig3_larger_alpha_ends_worse", figure="Fig. 3", year=2023,
    words="... and leads to worse overall probing performance.",
    test=f"final linear probe, student at α = {REFERENCE:g} − student at α = {FAR:g} > 0, one-sided paired t, "
         "per architecture",
    arms=("reference", "far"), metric="linear probe accuracy", kind="directional", delta=1.0, delta_why=GAIN_WHY,
    probes=("linear",), family=ONE_TEST_PER_NET, unreachable=lacks(REFERENCE, FAR))

FIG3_FAR_BEATS_TEACHER = Claim(
    key="fig3_alpha_1_beats_teacher", figure="Fig. 3", year=2023,
    words="Even initializing the student independently of the teacher (α = 1) results in a considerable improvement "
          "over the teacher.",
    test=f"final linear probe, student at α = {FAR:g} − teacher > 0, one-sided paired t, per architecture",
    arms=("far", "teacher"), metric="linear probe accuracy", kind="directional", delta=1.0, delta_why=GAIN_WHY,
    probes=("linear",), family=ONE_TEST_PER_NET, unreachable=lacks(FAR))

FIG17_KL = Claim(
    key="fig17_far_students_reduce_kl_less", figure="Fig. 17", year=2023,
    words="For students initialized far away from their teacher, the loss cannot be reduced as efficiently.",
    test=f"log10 of the final KL(teacher ‖ student) (floored at float32's resolution), α = {FAR:g} − α = "
         f"{REFERENCE:g} > 0, one-sided paired t, per architecture",
    arms=("far", "reference"), metric="log10 final KL", unit="log10 units", kind="directional",
    delta=round(math.log10(2), 3), delta_why="a factor of 2 in the final KL: the KLs of different α lie orders of "
                                             "magnitude apart, so only ratios are comparable",
    probes=(), family=ONE_TEST_PER_NET, unreachable=lacks(REFERENCE, FAR))

CLAIMS = (FIG3_ALIKE, FIG3_SLOWER, FIG3_WORSE, FIG3_FAR_BEATS_TEACHER, FIG17_KL)
