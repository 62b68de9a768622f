"""Claims of Fig. 8 (2023 paper, lottery tickets), judged in notebooks/06_lottery.py.

Arms are test accuracies in points after the last IMP round (the sparsest level the profile reaches) of the
lines rewound to θ*_S ("θ*_S": the distilled student, ℓ = 0) and to θ_S ("θ_S": the fresh initialization,
rewound to epoch ℓ of supervised training); the family column "ℓ" is the rewind epoch of the θ_S line."""
from .engine import Claim

EASY = ("digits", "fashion-mnist")
PAPER_LEFT = 0.5  # % of the weights the paper's Fig. 8 prunes down to


def stable_setting(settings: dict) -> str | None:
    """Why a profile cannot show Fig. 8's contrast, or None."""
    if settings.get("dataset") not in EASY:
        return None
    left = 100 * (1 - settings["prune_fraction"]) ** settings["rounds"]
    return (f"a small net on {settings['dataset']} is already stable under SGD from a fresh init (Frankle et al. "
            f"2019: the contrast needs CIFAR-scale ResNets), so rewinding to θ_S loses nothing for θ*_S to keep; IMP "
            f"stops at {left:.1f}% of the weights (paper: {PAPER_LEFT}%)")


TICKET = Claim(
    key="fig8_student_beats_init_rewind", figure="Fig. 8", year=2023,
    words="Rewinding to the initialization θ_S (ℓ = 0) incurs strong losses in test accuracy at all pruning levels, "
          "while the distilled student θ*_S (ℓ = 0) remains very robust.",
    test="test accuracy at the sparsest IMP round, θ*_S (ℓ = 0) − θ_S (ℓ = 0) > 0, one-sided paired t over seeds",
    arms=("θ*_S", "θ_S"), metric="test accuracy after IMP", kind="directional", delta=1.0,
    delta_why="the paper calls θ_S's losses 'strong'; under 1 point of test accuracy is within the seed-to-seed "
              "spread of one IMP line",
    probes=("supervised test accuracy",), family=(), unreachable=stable_setting)

AS_ROBUST = Claim(
    key="fig8_student_as_robust_as_rewind_1_2", figure="Fig. 8", year=2023,
    words="θ*_S shows similar behavior to the networks rewound to epoch 1 and 2.",
    test="test accuracy at the sparsest IMP round, θ*_S (ℓ = 0) − θ_S (ℓ = 1, 2) within ±δ, TOST over seeds, one "
         "test per rewind epoch before the first lr drop",
    arms=("θ*_S", "θ_S"), metric="test accuracy after IMP", kind="equivalence", delta=1.0,
    delta_why="'similar' must be closer than the 'strong losses' the paper contrasts it with; 1 point is the "
              "smallest loss we would call a loss",
    probes=("supervised test accuracy",), family=("ℓ",), unreachable=stable_setting)

CLAIMS = (TICKET, AS_ROBUST)
