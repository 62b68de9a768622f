"""Claims of Fig. 1 and Tables 1, 3 (2023 paper), judged in notebooks/01_student_vs_teacher.py.

Arms are probe accuracies in points of one net each (data columns "student", "teacher", "input"); one
test per architecture ("model"), the paper's ResNet18 (BN) and VGG11 (no BN) by our nets with and
without BN."""
from .engine import Claim, Steps

GAIN = 1.0
GAIN_WHY = ("a gain under 1 point of probe accuracy is not the 'significant outperformance' the paper reports "
            "(10 to 15 points on CIFAR-10) at any scale")
ONE_TEST_PER_NET = ("model",)

FIG1_THROUGHOUT = Claim(
    key="fig1_throughout_training", figure="Fig. 1", year=2023,
    words="The student significantly outperforms its teacher throughout the training (linear probe).",
    test="linear probe, student − teacher > 0, one-sided paired t over seeds, at every probe step from epoch 1 on, "
         "per architecture",
    arms=("student", "teacher"), metric="linear probe accuracy", kind="directional", delta=GAIN, delta_why=GAIN_WHY,
    probes=("linear",), family=ONE_TEST_PER_NET,
    steps=Steps("every", burn_in=1, why="the paper draws Fig. 1 per epoch: its first point after the start is epoch 1"))


def beats_at_the_end(key, figure, words, probe, probe_name, other, other_name) -> Claim:
    """The student above `other` at the final probe step, one test per architecture."""
    return Claim(key=key, figure=figure, year=2023, words=words,
                 test=f"final {probe_name}, student − {other_name} > 0, one-sided paired t over seeds, per architecture",
                 arms=("student", other), metric=f"{probe_name} accuracy", kind="directional", delta=GAIN,
                 delta_why=GAIN_WHY, probes=(probe,), family=ONE_TEST_PER_NET)


TABLE1_TEACHER = beats_at_the_end(
    "table1_student_vs_teacher", "Table 1", "Across all tasks, distilling a random teacher into its student proves "
    "beneficial in terms of probing accuracy (linear probe: student above teacher).",
    "linear", "linear probe", "teacher", "teacher")
TABLE1_INPUT = beats_at_the_end(
    "table1_student_vs_input", "Table 1", "It also improves over probing on the raw inputs (linear probe: student "
    "above the flattened input).", "linear", "linear probe", "input", "flattened input")
TABLE3_TEACHER = beats_at_the_end(
    "table3_student_vs_teacher", "Table 3", "K-NN probing (K = 20) as in Table 1: the student above its teacher.",
    "knn", "k-NN probe (k = 20)", "teacher", "teacher")
TABLE3_INPUT = beats_at_the_end(
    "table3_student_vs_input", "Table 3", "K-NN probing (K = 20) as in Table 1: the student above the raw pixel "
    "inputs.", "knn", "k-NN probe (k = 20)", "input", "flattened input")

CLAIMS = (FIG1_THROUGHOUT, TABLE1_TEACHER, TABLE1_INPUT, TABLE3_TEACHER, TABLE3_INPUT)
