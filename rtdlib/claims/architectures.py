"""Claim of Table 5 (2023 paper, architectures), judged in notebooks/09_architectures.py.

Arms are final full-label linear probe accuracies in points ("student", "teacher"); one test per encoder
("model": architecture, width and norm layer)."""
from .engine import Claim

FAMILIES = {"VGG": ("vgg", "small_vgg"), "ResNet": ("resnet", "small_resnet"), "ViT": ("vit_",)}


def missing_family(settings: dict) -> str | None:
    """Why a profile cannot show a claim naming VGG, ResNet and ViT: the families it runs no encoder of."""
    archs = [a for a, _, _ in settings.get("archs", [])]
    lacking = [name for name, prefixes in FAMILIES.items() if not any(a.startswith(prefixes) for a in archs)]
    return f"the profile runs no {' and no '.join(lacking)} encoder" if lacking else None


BEATS_TEACHER = Claim(
    key="table5_student_vs_teacher", figure="Table 5", year=2023,
    words="Across architectures (VGG, ResNet, ViT): the students outperform their teachers in all cases (linear "
          "probe).",
    test="final linear probe, student − teacher > 0, one-sided paired t over seeds, per encoder",
    arms=("student", "teacher"), metric="linear probe accuracy", kind="directional", delta=1.0,
    delta_why="a gain under 1 point of probe accuracy is not the outperformance Table 5 reports (+2.0 to +15.4 "
              "points on CIFAR-10)",
    probes=("linear",), family=("model",), unreachable=missing_family)

CLAIMS = (BEATS_TEACHER,)
