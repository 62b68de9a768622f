# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (rtdlib)
#     language: python
#     name: rtdlib
# ---

# %% [markdown]
# # Random Teachers companion: start here
#
# Figure notebooks for two papers:
# [Random Teachers are Good Teachers](https://arxiv.org/abs/2302.12091) (Sarnthein, Bachmann,
# Anagnostidis, Hofmann; ICML 2023) and
# [Randomly Initialized Networks Can Learn from Peer-to-Peer Consensus](https://arxiv.org/abs/2604.18390)
# (Rodríguez-Betancourt, Casasola-Murillo; 2026).
#
# **How to use a notebook here.** Open it from the table below, set `profile` in its parameters cell
# (`smoke`: tiny, for the tests; `quick`: small nets on Fashion-MNIST, a laptop CPU; `paper`: the papers'
# settings, for GPUs) and run all cells. Results are read from the store `results/` or computed into it,
# and figures are saved to `figures/<profile>/`: the same folders `make figures` uses, whichever folder
# the notebook runs in. After `make figures`, a notebook of the same profile only reads its results and
# redraws its figures.
#
# Run the next cell: the table and the chart are computed from the notebooks, the dry-run plan
# (`rtdlib/plan.py`, what `make figures DRY_RUN=1` prints) and the records of past runs
# (`figures/<profile>/.runs/`, summarized in `figures/<profile>/MANIFEST.md`); nothing in them is typed by hand.

# %%
import json

import jupytext
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import notebooks, plan, plotting, report
from rtdlib.profiles import PROFILE_NAMES


def title(name):
    """The notebook's first heading."""
    cells = jupytext.read(notebooks.source(name)).cells
    heading = next(ln for c in cells if c.cell_type == "markdown" for ln in c.source.splitlines() if ln.startswith("# "))
    return heading[2:].strip()


def estimate(name, profile):
    """CPU seconds of the sweeps the dry-run plan lists (None: the notebook registers no sweep of its own)."""
    planned = plan.sweeps_of(name, profile)
    return sum(secs for _, _, secs in planned) if planned else None


def measured(name, profile):
    """Wall time of the last recorded run of the notebook in the profile, or None."""
    try:
        return json.loads((notebooks.FIGURES / profile / ".runs" / f"{name}.json").read_text())["wall_time_s"]
    except (OSError, ValueError, KeyError):
        return None


def duration(secs, rough):
    """Seconds, minutes or hours as they read best (smoke runs take seconds); "~" marks an estimate."""
    return "–" if secs is None else plan.duration(secs) if rough else plan.duration(secs).lstrip("~")


rows = []
for name in notebooks.available():
    rows.append({"notebook": name, "what it does": title(name),
                 "reproduces": ", ".join(i.label for i in report.ITEMS if i.notebook == name),
                 **{f"estimate {p}": estimate(name, p) for p in PROFILE_NAMES},
                 **{f"measured {p}": measured(name, p) for p in PROFILE_NAMES}})
table = pd.DataFrame(rows)
header = (["notebook", "what it does", "reproduces"] + [f"estimated CPU time, {p}" for p in PROFILE_NAMES]
          + [f"last run, {p}" for p in PROFILE_NAMES])
lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
for r in rows:
    lines.append(f"| [{r['notebook']}]({r['notebook']}.py) | {r['what it does']} | {r['reproduces']} | "
                 + " | ".join(duration(r[f"estimate {p}"], rough=True) for p in PROFILE_NAMES) + " | "
                 + " | ".join(duration(r[f"measured {p}"], rough=False) for p in PROFILE_NAMES) + " |")
no_plan = [r["notebook"] for r in rows if all(r[f"estimate {p}"] is None for p in PROFILE_NAMES)]
display(Markdown("\n".join(lines) + "\n\n"
                 "*Estimated CPU time*: the dry-run plan's cost model (training images seen × rough seconds per image "
                 "on a 2-core CPU), summed over the notebook's runs, before any of them is in the store; "
                 "it is a rough guide, not a measurement. *Last run*: the wall time `make figures` recorded for the "
                 "notebook on the machine that made `figures/<profile>/` (including runs read from the store), "
                 "– where this checkout has no record."
                 + (f" {', '.join(no_plan)} registers no sweep of its own: it reads results other notebooks compute."
                    if no_plan else "")))

# %% [markdown]
# The same estimates as a chart, with the recorded wall times where there are any (log scale: the
# profiles differ by orders of magnitude).

# %%
plotting.style()
fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.2))
y = np.arange(len(rows))
height = 0.8 / len(PROFILE_NAMES)  # one bar per profile, side by side within a notebook's row
for k, p in enumerate(PROFILE_NAMES):
    at = y + (k - (len(PROFILE_NAMES) - 1) / 2) * height
    est = table[f"estimate {p}"].astype(float) / 60
    ax.barh(at, est, height=height, label=f"{p}: estimate", color=f"C{k}", alpha=0.75)
    seen = table[f"measured {p}"].astype(float) / 60
    ax.plot(seen, at, "k|", ms=9, mew=2, label="last run (wall time)" if k == 0 else None)
ax.set_yticks(y, table["notebook"])
ax.invert_yaxis()
ax.set_xscale("log")
ax.set_xlabel("minutes (log scale)")
ax.set_title("Cost per notebook and profile: dry-run estimate (bars), recorded runs (ticks)")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, fontsize=8, frameon=False)
fig.tight_layout()
