"""The paper's claims next to ours: each notebook records, per figure or table, what the paper claims
(with its numbers), what this run measured, and whether it reproduces at this profile's scale. The
verdict must come from the notebook's computed tests, never be typed by hand; the runner renders every
notebook's claims into figures/<profile>/SUMMARY.md."""
from __future__ import annotations

import json
from pathlib import Path

from .config import check_choice
from .plotting import figure_dir
from .store import atomic_write

VERDICTS = ("yes", "partly", "no")
RULE = ("**Reproduces?** yes: every Holm-corrected paired test behind the claim comes out as the paper says; "
        "partly: some do; no: none does.")


def verdict(holds) -> str:
    """yes / partly / no from the outcomes (True: as the paper says) of the tests behind one claim."""
    holds = [bool(h) for h in holds]
    if not holds:
        raise ValueError("a verdict needs at least one test outcome")
    return "yes" if all(holds) else "partly" if any(holds) else "no"


def claim(figure: str, claim: str, paper: str, ours: str, reproduces: str) -> dict:
    """One row: figure ("Fig. 1"), the paper's claim, the paper's numbers, ours, and yes / partly / no."""
    check_choice("verdict", reproduces, VERDICTS)
    return {"figure": figure, "claim": claim, "paper": paper, "ours": ours, "reproduces": reproduces}


def save(claims: list[dict], notebook: str, profile: str) -> Path:
    out = figure_dir(profile)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"claims_{notebook}.json"
    atomic_write(path, json.dumps(claims, indent=1, ensure_ascii=False).encode())
    return path
