"""Claims of Fig. 9 (2023 paper, linear mode connectivity), judged in notebooks/07_mode_connectivity.py.

The unit is one start point (a seed): its barrier is the mean over its pairs of supervised runs (data orders)
of the maximum test error on the straight path minus the mean error of the two ends, in points of test
error. Arms: "θ*_S" (runs from the distilled student), "θ_S" (runs from the fresh initialization) and
"no barrier" (0, for the one-basin claim)."""
from .engine import Claim
from .lottery import EASY

BARRIER_WHY = ("a barrier under 1 point of test error is within about one binomial SD of a single error value on "
               "the quick test set (2,000 images at ~17% error: 0.84 points)")


def stable_setting(settings: dict) -> str | None:
    """Why a profile cannot show Fig. 9's contrast, or None."""
    if settings.get("dataset") not in EASY:
        return None
    return (f"a small net on {settings['dataset']} is already stable under SGD from a fresh init (Frankle et al. "
            "2019: the contrast needs CIFAR-scale ResNets), so runs from θ_S share a basin too and have no barrier "
            "for θ*_S to lower")


LOWER_BARRIER = Claim(
    key="fig9_lower_barrier_from_student", figure="Fig. 9", year=2023,
    words="Runs from the initialization θ_S face a significantly larger barrier than runs from the distilled "
          "student θ*_S.",
    test="barrier height (mean over a start's pairs of data orders), θ*_S − θ_S < 0, one-sided paired t over starts",
    arms=("θ*_S", "θ_S"), metric="barrier on the linear path", kind="directional", direction=-1, delta=1.0,
    delta_why=BARRIER_WHY, probes=("supervised test error",), family=(), unreachable=stable_setting)

ONE_BASIN = Claim(
    key="fig9_student_runs_share_a_basin", figure="Fig. 9", year=2023,
    words="Supervised runs from θ*_S that differ only in data order all lie in approximately the same linear basin.",
    test="barrier height from θ*_S (mean over a start's pairs) within ±δ of 0, TOST over starts",
    arms=("θ*_S", "no barrier"), metric="barrier on the linear path", kind="equivalence", delta=1.0,
    delta_why=BARRIER_WHY, probes=("supervised test error",), family=())

CLAIMS = (LOWER_BARRIER, ONE_BASIN)
