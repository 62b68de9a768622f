"""Claims of Figs. 10, 11, 12 (2023 paper, App. B), judged in notebooks/04_ablations.py.

Arms are final linear probe accuracies in points per seed: the student's and its teacher's
(Fig. 11), the paper's head's student and another head's (Fig. 12), and for Fig. 10 the student's mean
over the output dimensions m at or above the bottleneck and over those below it (m = 1 left out:
`m_sides`)."""
from .engine import Claim

GAIN = 1.0
GAIN_WHY = ("a gain under 1 point of probe accuracy is not the 'significant outperformance' the paper reports "
            "(10 to 15 points on CIFAR-10) at any scale")
SIDE = 3        # values of m needed on each side of the bottleneck to call a difference a step there
INSTANCE = "instance"
SMALLEST_SIDE = 16  # inputs of at most this many pixels a side: the instance-norm teacher is crippled


def m_sides(settings: dict) -> tuple[list[int], list[int]]:
    """(m below the bottleneck, m at or above it) of a profile's output dimensions, without m = 1: with
    one output the softmax is the constant 1, so the loss and its gradient are zero and the student never
    moves from its initialization (it would measure the teacher, not a head of dimension 1)."""
    b = settings["head"]["bottleneck_dim"]
    ms = sorted(m for m in settings["out_dims"] if m > 1)
    return [m for m in ms if m < b], [m for m in ms if m >= b]


def too_few_m(settings: dict) -> str | None:
    below, above = m_sides(settings)
    if min(len(below), len(above)) >= SIDE:
        return None
    return (f"{len(below)} value(s) of m > 1 below the bottleneck ({settings['head']['bottleneck_dim']}) and "
            f"{len(above)} at or above it in this profile; a step needs {SIDE} on each side")


def input_side(settings: dict) -> int:
    """Pixels a side of the profile's inputs (its image_size, or the dataset's own)."""
    if settings.get("image_size"):
        return settings["image_size"]
    from ..config import DataCfg
    from ..data import load
    return int(load(DataCfg(settings["dataset"])).shape[-1])


def crippled_instance_norm(settings: dict) -> str | None:
    if INSTANCE not in settings["norms"]:
        return "this profile does not train instance norm (its norms: " + ", ".join(settings["norms"]) + ")"
    side = input_side(settings)
    if side > SMALLEST_SIDE:
        return None
    last = -(-side // 8)  # the small nets' last stage, after three 2x downsamplings
    return (f"at {side}x{side} inputs the last stage's feature maps are {last}x{last}: instance norm standardizes "
            f"each channel over {last * last} value(s) and cripples the teacher (quick, 3 seeds: 62.8% linear probe "
            "vs 76.3 to 76.9% with every other norm), so student − teacher measures recovery from a broken "
            "teacher; the paper's nets see 32x32")


FIG10_STEP = Claim(
    key="fig10_step_at_bottleneck", figure="Fig. 10", year=2023,
    words="Large m = 2^16 are not crucial for feature learning, but there is a phase transition at the bottleneck "
          "dimension m = 2^8 = 256.",
    test="per (model, seed), the final linear probe averaged over m at or above the bottleneck minus averaged over "
         "m below it (m = 1 left out: its softmax is constant, the student never moves), > 0, one-sided paired t",
    arms=("m at or above the bottleneck", "m below the bottleneck"), metric="linear probe accuracy",
    kind="directional", delta=GAIN,
    delta_why="a step under 1 point of probe accuracy is not a phase transition",
    probes=("linear",), family=("model",), unreachable=too_few_m)

FIG11_NORMS = Claim(
    key="fig11_every_norm_layer", figure="Fig. 11", year=2023,
    words="While batch normalization stabilizes training, the effect also occurs with batch-independent "
          "normalization (student above its teacher with batch, group, layer and no norm layers).",
    test="final linear probe, student − its own teacher > 0, one-sided paired t over seeds, per norm layer "
         "(instance norm is its own claim)",
    arms=("student", "teacher"), metric="linear probe accuracy", kind="directional", delta=GAIN, delta_why=GAIN_WHY,
    probes=("linear",), family=("arch", "norm"))

FIG11_INSTANCE = Claim(
    key="fig11_instance_norm", figure="Fig. 11", year=2023,
    words="The effect also occurs with batch-independent normalization: instance norm.",
    test="final linear probe, student − its own teacher > 0, one-sided paired t over seeds, instance norm",
    arms=("student", "teacher"), metric="linear probe accuracy", kind="directional", delta=GAIN, delta_why=GAIN_WHY,
    probes=("linear",), family=("arch", "norm"), unreachable=crippled_instance_norm)

FIG12_HEAD = Claim(
    key="fig12_paper_head_best", figure="Fig. 12", year=2023,
    words="The default setup (lin1 fn1 wn2 lin2) is clearly the most performant l2-bottleneck.",
    test="final linear probe, the paper's head − each other head (each trained as its own run, the authors' "
         "code included) > 0, one-sided paired t over (model, seed)",
    arms=("paper's head", "other head"), metric="student linear probe accuracy", kind="directional",
    delta=GAIN, delta_why="a lead under 1 point of probe accuracy is not 'clearly the most performant'",
    probes=("linear",), family=("model", "head"))

CLAIMS = (FIG10_STEP, FIG11_NORMS, FIG11_INSTANCE, FIG12_HEAD)
