"""Figure style and saving. Figures are written as PNG and PDF, atomically, to the run's figure folder."""
from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from .paths import project_root
from .store import atomic_write

COLORS = {"teacher": "#4c72b0", "teacher_bnrecal": "#8fa9d6", "student": "#c44e52",
          "student_bnrecal": "#e39a9c", "input": "#555555"}
LABELS = {"teacher": "teacher", "teacher_bnrecal": "teacher (BN recalibrated)", "student": "student",
          "student_bnrecal": "student (BN recalibrated)", "input": "input"}


def style():
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    matplotlib.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight"})


def mean_band(ax, x, mean, sd, color, label=None, fmt="-o", ms=2.5, band_alpha=0.12, log=False):
    """The mean over seeds as a line and mean ± sd as a band. With `log` (a log-scaled y axis) means <= 0
    are masked, not clipped (clipping draws a spurious drop to the axis edge), and a band whose lower edge
    is <= 0 runs off the bottom of the axis."""
    x, mean, sd = (np.asarray(v, dtype=float) for v in (x, mean, sd))
    keep = mean > 0 if log else np.isfinite(mean)
    shown = np.where(keep, mean, np.nan)
    ax.plot(x, shown, fmt, ms=ms, color=color, label=label)
    ax.fill_between(x, shown - sd, shown + sd, where=keep, color=color, alpha=band_alpha, lw=0)


def baseline(ax, mean, sd, color, ls="--", label=None, vertical=False, lw=1.2):
    """A reference accuracy (teacher, input, ...): a line at its mean over seeds and a band of ± sd."""
    (ax.axvline if vertical else ax.axhline)(mean, ls=ls, lw=lw, color=color, label=label)
    if np.isfinite(sd) and sd > 0:
        (ax.axvspan if vertical else ax.axhspan)(mean - sd, mean + sd, color=color, alpha=0.10, lw=0)


def figure_dir(profile: str) -> Path:
    """Where figures go: the runner's staging folder if set, else the figures/<profile>/ of `make figures`
    ($RTD_FIGURES, default the project root's figures/), whichever folder the kernel started in."""
    staged = os.environ.get("RTD_FIGURES_DIR")
    return Path(staged) if staged else Path(os.environ.get("RTD_FIGURES", project_root() / "figures")) / profile


def save(fig, name: str, profile: str) -> list[Path]:
    out = figure_dir(profile)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        # no creation date in the PDF: an unchanged figure stays byte-identical (and git status clean)
        fig.savefig(buf, format=ext, metadata={"CreationDate": None} if ext == "pdf" else None)
        atomic_write(out / f"{name}.{ext}", buf.getvalue())
        paths.append(out / f"{name}.{ext}")
    return paths


def save_table(df, name: str, profile: str) -> Path:
    out = figure_dir(profile)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / f"{name}.csv", df.to_csv(index=False).encode())
    return out / f"{name}.csv"


DATASET_NAMES = {"digits": "digits", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100",
                 "stl10": "STL-10", "tiny-imagenet": "Tiny ImageNet"}


def setting(dataset: str, steps, seeds, size: int | None = None) -> str:
    """What every figure title states: 'Fashion-MNIST 16x16 · 2,340 steps · 5 seeds' (steps: one count,
    or a (min, max) range when runs differ)."""
    name = DATASET_NAMES.get(dataset, str(dataset))
    if size:
        name += f" {size}x{size}"
    lo, hi = (steps, steps) if isinstance(steps, (int, float)) else (min(steps), max(steps))
    steps_text = f"{int(lo):,} steps" if lo == hi else f"{int(lo):,}-{int(hi):,} steps"
    n = seeds if isinstance(seeds, int) else len(set(seeds))
    return f"{name} · {steps_text} · {n} seed{'s' * (n != 1)}"
