"""Claims of the 2026 paper (peer-to-peer consensus), judged in notebooks/08_peer_consensus.py.

Arms are final probe accuracies in points: "peer consensus" (a group's mean over its K peers) and "random
network" (the same K initializations untrained, as initialized or with BN statistics re-estimated on the data;
the paper names no baseline, so both count). One test per probe × random baseline. Each claim is tested at
one setting fixed before the runs: the profile's `base` (K, rule, consensus weight, lr) with the claim's loss.
"ce" compares softmax outputs of the 2023 paper's DINO-style projector head; the 2026 paper uses no
projector, so only the head-free "mse" setting is the paper's; the "ce" claim is marked as differing."""
from .engine import Claim

PROBES = ("linear", "knn")
BASELINES = {"init": "untrained", "init_bnrecal": "untrained, BN recalibrated"}
PROJECTOR = "the 2023 paper's DINO-style projector head on the outputs (2026 paper: no projector)"
WORDS = ("Randomly initialized networks trained toward each other's outputs (no projector, predictor, pretext "
         "task or augmentation) yield non-trivial improvements over a random baseline on downstream tasks.")
DELTA_WHY = ("'non-trivial improvements' must exceed 1 point of probe accuracy, the smallest gain over a teacher "
             "we call a gain in the 2023 paper's claims")

BEATS_RANDOM = Claim(
    key="p2p_no_projector_vs_random", figure="2026 paper", year=2026, words=WORDS,
    test="final linear and k-NN probes of the base setting with the mse loss on encoder embeddings (no projector), "
         "peer consensus − the same untrained networks (as initialized; BN recalibrated) > 0, one-sided paired t "
         "over seeds, per probe and baseline",
    arms=("peer consensus", "random network"), metric="probe accuracy", kind="directional", delta=1.0,
    delta_why=DELTA_WHY, probes=PROBES, family=("probe", "random baseline"))

BEATS_RANDOM_PROJECTOR = Claim(
    key="p2p_with_projector_vs_random", figure="2026 paper", year=2026,
    words=WORDS + " (Tested with a projector, which the paper does not use.)",
    test="final linear and k-NN probes of the base setting with the ce loss on the DINO-style head, peer consensus "
         "− the same untrained networks (as initialized; BN recalibrated) > 0, one-sided paired t over seeds, per "
         "probe and baseline",
    arms=("peer consensus", "random network"), metric="probe accuracy", kind="directional", delta=1.0,
    delta_why=DELTA_WHY, probes=PROBES, family=("probe", "random baseline"))

LOSS = {BEATS_RANDOM: "mse", BEATS_RANDOM_PROJECTOR: "ce"}  # each claim's loss at the base setting
DIFFERS = {BEATS_RANDOM: "", BEATS_RANDOM_PROJECTOR: PROJECTOR}
CLAIMS = tuple(LOSS)
