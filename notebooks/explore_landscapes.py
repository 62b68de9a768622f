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
# # Explore the landscapes: 1-D slices through the planes of Figs. 5 and 13–16
#
# Pick the view, the metric and the coordinates. A **slice** is a straight line through the map, drawn
# on it in colour; the right panel shows the metric along that line, in the same colour:
#
# - **angle**: the line's direction in the map's axes, 0° = along the horizontal axis (λ1 or e1), 90° =
#   along the vertical one;
# - **offset**: how far the line is shifted from the window's centre, perpendicular to itself, as a
#   fraction of the half-window (0: through the centre, ±1: along the window's edge).
#
# Probe accuracies are in %. With the stacked view, **plane** steps along a third, random
# direction orthogonal to the shared plane (offsets in units of ‖θ*_S(α≈0) − θ_T‖). The marked points
# are drawn on the plane at offset 0 only (the others do not contain them). The last view is the shared
# plane with the other BN buffer choice (see `05_landscapes`); every map's title names its choice.
#
# Everything is read from the results store: the grids of `05_landscapes` if they were computed
# (else a coarse grid is computed once, with progress), so moving a slider never trains or evaluates
# anything. Run by `make figures` (papermill), the notebook also saves a static small-multiples figure.

# %% tags=["parameters"]
profile = "quick"

# %%
import io
import os
from dataclasses import replace

import ipywidgets as W
from IPython.display import Image, display
from matplotlib.figure import Figure

from rtdlib import landscape_plots as lp
from rtdlib import plotting, sweeps, tidy
from rtdlib.landscape import landscape
from rtdlib.profiles import settings
from rtdlib.store import Store

P = settings("05_landscapes", profile)
E = settings("explore_landscapes", profile)
static = "RTD_FIGURES_DIR" in os.environ  # set by the project's notebook runner (make figures)
if not static:
    os.environ.setdefault("RTD_PROGRESS", "1")  # show progress if a grid has to be computed here
plotting.style()
store = Store()
grids = sweeps.landscape_grids(P)


def load(cfg):
    """The stored grid for cfg, else a coarse version of it (computed now, then stored)."""
    if store.get("landscape", cfg) is None and cfg.resolution > E["coarse_resolution"]:
        cfg = replace(cfg, resolution=E["coarse_resolution"])
        print(f"no stored {cfg.view}/{cfg.coords} grid at this resolution: computing a coarse "
              f"{cfg.resolution}x{cfg.resolution} one")
    return store.get_or_run("landscape", cfg, landscape).metrics


DATA = {(view, coords): load(grids[f"{view}/{coords}"]) for view in ("nonlocal", "shared") for coords in ("interp", "ortho")}
DATA[("crop", "ortho")] = load(grids["shared/ortho/zoom"])
DATA[("bn", "interp")] = load(next(g for k, g in grids.items() if k.startswith("shared/interp/bn=")))
DATA[("stacked", "ortho")] = load(replace(grids["shared/ortho"], resolution=E["stack_resolution"],
                                          stack=tuple(E["stack"])))
first_seed = P["seeds"][0]  # the grids above are the first seed's (see 05_landscapes)
setting = plotting.setting(P["dataset"], [tidy.steps(store.get("distill", c)) for c in sweeps.landscape_distills(P)
                                          if c.seed == first_seed], [first_seed], P["image_size"])

# %%
view = W.Dropdown(options=[("non-local (α = 1)", "nonlocal"), ("shared (α ≈ 0 and 1)", "shared"),
                           ("shared, crop at teacher", "crop"), ("shared, stacked planes", "stacked"),
                           (f"shared, other BN buffers ({DATA[('bn', 'interp')]['bn']})", "bn")],
                  value="shared", description="view")
metric = W.Dropdown(options=[(lp.LABELS[k], k) for k in ("kl", "loss", "enc_kl", "linear", "knn", "norm")],
                    value="kl", description="metric")
coords = W.ToggleButtons(options=[("interpolation", "interp"), ("orthonormal", "ortho")], value="ortho",
                         description="coords")
angle = W.FloatSlider(value=0.0, min=0.0, max=180.0, step=5.0, description="angle (°)", continuous_update=False)
offset = W.FloatSlider(value=0.0, min=-1.0, max=1.0, step=0.05, description="offset", continuous_update=False)
plane = W.IntSlider(value=0, min=0, max=0, description="plane", continuous_update=False, disabled=True)
image = W.Image(format="png", layout=W.Layout(width="900px"))
label = W.Label(value="drawing ...")


def current():
    c = {"crop": "ortho", "stacked": "ortho", "bn": "interp"}.get(view.value, coords.value)
    return DATA[(view.value, c)], c


SLICE_COLORS = ("red", "deepskyblue", "orange")  # slice i: its line on the map and its curve share a colour


def map_panel(ax, m, c, metric_name, s, lines):
    lp.heatmap(ax, m, metric_name, stack=s,
               title=f"{lp.LABELS[metric_name]}, plane {m['stack'][s]:+g}, BN buffers: {m['bn']}")
    if c == "ortho":
        ax.set_aspect("equal")
    for (ang, off), color in zip(lines, SLICE_COLORS):
        ends = lp.line(m, ang, off)
        if ends is not None:
            ax.plot([ends[0][0], ends[1][0]], [ends[0][1], ends[1][1]], "-", color=color, lw=1.5)


def slice_panel(ax, m, metric_name, s, lines):
    for (ang, off), color in zip(lines, SLICE_COLORS):
        dist, vals, _ = lp.line_slice(m, metric_name, ang, off, stack=s)
        ax.plot(dist, vals, "-", lw=1.5, color=color, label=f"angle {ang:.0f}°, offset {off:+.2f}")
    ax.set(xlabel="distance along the slice (plot units)", ylabel=lp.LABELS[metric_name],
           title="the metric along the coloured line(s) on the map")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22))  # below the axes: never on the curves


def draw(*_):
    m, c = current()
    plane.disabled = len(m["stack"]) == 1
    plane.max = len(m["stack"]) - 1
    s = min(plane.value, plane.max)
    fig = Figure(figsize=(10, 4.2), dpi=90, layout="constrained")
    ax_map, ax_line = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
    map_panel(ax_map, m, c, metric.value, s, [(angle.value, offset.value)])
    slice_panel(ax_line, m, metric.value, s, [(angle.value, offset.value)])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    image.value = buf.getvalue()
    label.value = f"drawn: view={view.value} metric={metric.value} offset={offset.value:.2f} angle={angle.value:.0f} plane={s}"


for w in (view, metric, coords, angle, offset, plane):
    w.observe(draw, names="value")
draw()
display(W.VBox([W.HBox([view, metric, coords]), W.HBox([angle, offset, plane]), image, label]))

# %% [markdown]
# ## Static small multiples (what `make figures` saves): slices through the stacked planes

# %%
if static:
    m = DATA[("stacked", "ortho")]
    rows = [("kl", 0.0), ("linear", 90.0)]
    fig = Figure(figsize=(3.4 * len(m["stack"]), 12), dpi=110, layout="constrained")
    axes = fig.subplots(2 * len(rows), len(m["stack"]), squeeze=False)
    for r, (metric_name, ang) in enumerate(rows):
        lines = [(ang, off) for off in (-0.5, 0.0, 0.5)]
        for s in range(len(m["stack"])):
            map_panel(axes[2 * r][s], m, "ortho", metric_name, s, lines)
            slice_panel(axes[2 * r + 1][s], m, metric_name, s, lines)
    fig.suptitle(f"{setting} (seed {first_seed}): shared view (orthonormal coordinates),\nplanes stacked along a "
                 "random direction (map titles: each plane's offset).\nColoured lines on a map: slices at angle 0° (KL) "
                 "or 90° (probe), shifted by offset −0.5, 0, +0.5 of the half-window\nperpendicular to the line; the "
                 "panel below each map shows the metric along the line of the same colour", fontsize=9)
    png, _ = plotting.save(fig, "explore_landscapes_slices", profile)
    display(Image(filename=png))  # a Figure made without pyplot is not shown by itself: the report needs it
