"""Claims of Fig. 18 (2023 paper, restarting distillation), judged in notebooks/10_restart.py.

Round 1 is the α = 1e-10 run of notebook 02 (shared through the store); round 2 distils a new student
(α = 1e-10) from the frozen round-1 student. One test per architecture ("model")."""
from .engine import Claim

MARGIN = 20.0  # % of the round-1 motion below which round 2 "does not even begin"

NO_MOTION = Claim(
    key="fig18_round2_does_not_begin", figure="Fig. 18", year=2023,
    words="Restarting with the student as the new teacher, the gradient dynamics seem much more stable, and the "
          "optimization procedure does not even begin.",
    test=f"distance from initialization after the round-2 epochs, round 2 as % of the same seed's round 1 after as "
         f"many epochs, below {MARGIN:g}%: one-sided paired t over seeds, per architecture",
    arms=("round 2", f"{MARGIN:g}% of round 1"), metric="distance from initialization", unit="% of the round-1 motion",
    kind="directional", direction=-1, delta=MARGIN,
    delta_why=f"'does not even begin' means a second round moving less than a fifth ({MARGIN:g}%) of the first; a "
              f"student that does not move at all lies {MARGIN:g} points below that margin",
    probes=("none: parameter distance",), family=("model",))

NO_PROBE_CHANGE = Claim(
    key="fig18_round2_probe_unchanged", figure="Fig. 18", year=2023,
    words="In the second round the probing accuracy stays where the first round left it (the optimization does not "
          "even begin).",
    test="final linear probe, round-2 student − its teacher (the round-1 student) within ±δ, TOST over seeds, per "
         "architecture",
    arms=("student", "teacher"), metric="linear probe accuracy", kind="equivalence", delta=1.0,
    delta_why="a change under 1 point of probe accuracy is below the smallest gain over a teacher we call a gain "
              "(the margin of the other student-vs-teacher claims)",
    probes=("linear",), family=("model",))

CLAIMS = (NO_MOTION, NO_PROBE_CHANGE)
