"""Claims of Figs. 5 and 14 (2023 paper, Sec. 5), judged in notebooks/05_landscapes.py.

Both are read on lines through the teacher θ_T, per seed, at the offsets of the crop around it: the k-th
point towards the α≈0 student θ*_S(0) against the k-th point away from it, averaged over k.
Fig. 14: the asymmetry A = mean log10 KL away − towards along the student's direction, against the
same |A| along random directions as long as θ*_S(0) − θ_T (the null: every direction of a curved
landscape is somewhat asymmetric; only the orientation of the student's one is named by the paper).
Fig. 5: the linear probe towards the student against away from it, in points."""
import numpy as np

from .engine import Claim


def asymmetry(kl, offsets) -> np.ndarray:
    """A of every line (rows of kl, columns at `offsets` through 0): the mean over k = 1 .. the nearer edge
    of log10 KL at the k-th point on the − side minus at the k-th point on the + side. The KL at 0 (the
    teacher's own, 0) is never used."""
    a = np.asarray(offsets, float)
    c = int(np.argmin(np.abs(a)))
    ks = np.arange(1, min(c, len(a) - 1 - c) + 1)
    if not len(ks):
        raise ValueError(f"offsets {a.tolist()} have no point on one side of 0")
    log = np.log10(np.clip(np.asarray(kl, float), 1e-300, None))
    return (log[..., c - ks] - log[..., c + ks]).mean(-1)

FIG14_VALLEY = Claim(
    key="fig14_asymmetric_valley", figure="Fig. 14", year=2023,
    words="A very pronounced asymmetric valley around the teacher θ_T: a very steep increase in loss on one side, "
          "only gradual in the opposite direction, towards the local minimum of the converged student θ*_S(0).",
    test="per seed, A = mean over k of log10 KL(θ_T − k·h·e) − log10 KL(θ_T + k·h·e) with e towards θ*_S(0), "
         "minus the mean |A| of random directions of the same length; > 0, one-sided paired t over seeds",
    arms=("student direction", "random directions"), metric="loss asymmetry (log10 KL away − towards)",
    unit="log10 units", kind="directional", delta=0.3,
    delta_why="0.3 log10 units is a factor 2 in KL between the two sides at equal distance: a smaller excess "
              "over random directions is no 'very pronounced' valley",
    probes=(), family=())

FIG5_GENTLE_SIDE = Claim(
    key="fig5_gentle_side_probes_higher", figure="Fig. 5", year=2023,
    words="Being located on the flat side of the asymmetric valley (towards θ*_S(0)) leads to better "
          "generalization than lying in the valley itself: the gentle side is a region of high probing accuracy.",
    test="per seed, the linear probe averaged over the crop's points towards θ*_S(0) minus over the points away "
         "from it at the same distances, > 0, one-sided paired t over seeds",
    arms=("towards the student", "away from the student"), metric="linear probe accuracy", kind="directional",
    delta=1.0, delta_why="a difference under 1 point of probe accuracy is not a 'region of high probing accuracy'",
    probes=("linear",), family=())

CLAIMS = (FIG14_VALLEY, FIG5_GENTLE_SIDE)
