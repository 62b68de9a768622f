"""What a notebook uses: pair its tidy results into arm columns, judge its claims, and record the rows."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .. import summary, tidy
from ..profiles import PROFILES
from .engine import Claim, evaluate

# the settings a "differs from the paper" cell compares with the paper profile, and how they read
DIFFERS = {"dataset": "dataset", "image_size": "input size", "train_size": "training images", "archs": "networks",
           "arch": "network", "head": "head", "batch_size": "batch", "linear_optimizer": "linear probe fit by"}


def pair(long: pd.DataFrame, column: str, a: str, b: str, on=(), value="acc", scale: float = 100.0) -> pd.DataFrame:
    """Paired data for a claim from a long table: one row per (on..., seed), the metric of the rows whose
    `column` is a (resp. b) in columns named a and b, times `scale` (100: accuracies in points)."""
    keep = long[long[column].isin([a, b])]
    wide = keep.pivot_table(index=[*on, "seed"], columns=column, values=value, aggfunc="first", sort=False)
    missing = {a, b} - set(wide.columns)
    if missing:
        raise ValueError(f"no rows with {column} = {', '.join(sorted(missing))}; present: "
                         f"{', '.join(map(str, long[column].unique()))}")
    return (wide[[a, b]] * scale).reset_index().rename_axis(columns=None)


def differs_from_paper(notebook: str, settings: dict, steps=None, precision: str | None = None) -> str:
    """'dataset fashion-mnist (paper: cifar10); ...; 2,106 steps (paper: 150 epochs); bf16 (paper: fp32);
    5 seeds (paper: 3)': every compared setting where this profile differs from the paper profile."""
    paper = PROFILES["paper"][notebook]
    out = [f"{name} {text(k, settings[k])} (paper: {text(k, paper[k])})" for k, name in DIFFERS.items()
           if k in settings and k in paper and settings[k] != paper[k]]
    if steps is not None and settings.get("epochs") != paper.get("epochs"):
        out.append(f"{steps:,} steps (paper: {paper['epochs']} epochs)")
    if precision and precision != "fp32":
        out.append(f"{precision} training (paper: fp32)")
    if "seeds" in settings and len(settings["seeds"]) != len(paper["seeds"]):
        out.append(f"{len(settings['seeds'])} seeds (paper: {len(paper['seeds'])})")
    return "; ".join(out) or "none of the compared settings"


def text(key: str, value) -> str:
    if value is None:  # the profiles' None: every training image, or the dataset's own size
        return "all" if key == "train_size" else "native"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list) and value and isinstance(value[0], list):
        return ", ".join(" ".join(map(str, v)) for v in value)
    return str(value)


def trained_precision(settings: dict, results) -> str | None:
    """What the runs trained in: the setting, or for "auto" what the machine that ran them resolved it to."""
    precision = settings.get("precision")
    if precision != "auto" or not results:
        return precision
    return "bf16" if any(r.meta.get("native_bf16") for r in results) else "fp32"


class Judge:
    """The claims of one notebook run: `evaluate` each, then `save` them for SUMMARY.md. results: the runs
    the claims rest on (their steps and precision enter the "differs from the paper" cell)."""

    def __init__(self, notebook: str, settings: dict, results=()):
        self.notebook, self.settings, self.rows = notebook, settings, []
        steps = max((tidy.steps(r) for r in results), default=None)
        self.differs = differs_from_paper(notebook, settings, steps, trained_precision(settings, results))

    def evaluate(self, claim: Claim, data: pd.DataFrame, differs: str = "") -> dict:
        """Judge `claim` on paired data (see engine.evaluate); the row is kept for save(). differs: how this
        claim's arms differ from the paper beyond the notebook's settings (e.g. a head the paper lacks)."""
        if any(r["claim"] == claim.key for r in self.rows):
            raise ValueError(f"claim {claim.key!r} was judged twice")
        row = evaluate(claim, data, self.settings, "; ".join(filter(None, (differs, self.differs))))
        self.rows.append(row)
        return row

    def at_this_scale(self, claim: Claim, data: pd.DataFrame) -> dict | None:
        """A claim these settings cannot show ("not shown at this scale") still has its tests run and reported,
        never counted: the row it would get in its regime, or None when the data hold none of its tests."""
        if not len(data):
            return None
        return evaluate(replace(claim, unreachable=None), data, self.settings, self.differs)

    def table(self) -> pd.DataFrame:
        """One line per claim, as SUMMARY.md shows it."""
        return pd.DataFrame([{"figure": r["figure"], "claim": r["words"], "outcome": r["outcome"],
                              "effect [CI]": summary.effect_text(r), "n": r["n"], "p_Holm": r["p_holm"],
                              "δ": r["delta"], "MDE": r["mde"], "reason": r["reason"]} for r in self.rows])

    def tests(self) -> pd.DataFrame:
        """Every test of every claim's family, one row each."""
        return pd.DataFrame([{"claim": r["claim"], **t} for r in self.rows for t in r["tests"]])

    def save(self, profile: str):
        return summary.save(self.rows, self.notebook, profile)


def sentence(row: dict, at_scale: dict | None = None) -> str:
    """The prose a notebook prints for a claim: computed from its outcome, never typed; for a claim not shown
    at this scale, with what its tests give here (`Judge.at_this_scale`), marked as not counted."""
    text = f"**{row['figure']}** ({row['words']}) — **{row['outcome']}**: {row['reason']}" + numbers(row) + "."
    if at_scale:
        text += (f" Its test all the same, not counted: it would read *{at_scale['outcome']}* ({at_scale['reason']}"
                 f"{numbers(at_scale)}).")
    return text


def numbers(row: dict) -> str:
    return (f"; {summary.effect_text(row)}, n = {row['n']}, p_Holm = {summary.num(row['p_holm'])}, "
            f"δ = {row['delta']:g}, MDE = {summary.num(row['mde'])}" if row["tests"] else "")
