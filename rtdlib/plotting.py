"""Figure style and saving. Figures are written as PNG and PDF, atomically, to the run's figure folder."""
from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import seaborn as sns

from .store import atomic_write

COLORS = {"teacher": "#4c72b0", "teacher_bnrecal": "#8fa9d6", "student": "#c44e52",
          "student_bnrecal": "#e39a9c", "input": "#555555"}
LABELS = {"teacher": "teacher", "teacher_bnrecal": "teacher (BN recalibrated)", "student": "student",
          "student_bnrecal": "student (BN recalibrated)", "input": "input"}


def style():
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    matplotlib.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight"})


def figure_dir(profile: str) -> Path:
    """Where figures go: the runner's staging folder if set, else figures/<profile>/."""
    staged = os.environ.get("RTD_FIGURES_DIR")
    return Path(staged) if staged else Path(os.environ.get("RTD_ROOT", ".")) / "figures" / profile


def save(fig, name: str, profile: str) -> list[Path]:
    out = figure_dir(profile)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext)
        atomic_write(out / f"{name}.{ext}", buf.getvalue())
        paths.append(out / f"{name}.{ext}")
    return paths


def save_table(df, name: str, profile: str) -> Path:
    out = figure_dir(profile)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / f"{name}.csv", df.to_csv(index=False).encode())
    return out / f"{name}.csv"
