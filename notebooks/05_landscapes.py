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
# # Figs. 5, 13–16: loss and probing landscapes around a random teacher
#
# Two planes through parameter space, each through the random teacher θ_T and two other points:
#
# - **non-local view**: θ_T, a fresh initialization θ_S(1) and the student θ*_S(1) trained from it (α = 1);
# - **shared view**: θ_T, the student θ*_S(α≈0) trained from next to the teacher (α = 1e-10) and θ*_S(1).
#
# At every grid point: the distillation KL to the teacher on a fixed train subset (top rows, log10) and
# the linear-probe accuracy of the encoder features (bottom rows); white contours are ‖θ‖. Fig. 5 uses
# interpolation coordinates θ_T + λ1(θ_1 − θ_T) + λ2(θ_2 − θ_T), which distort distances and angles;
# Fig. 13 the orthonormal basis of the same plane (axes in parameter units). Fig. 14 is a square crop
# around the teacher (half-width: the profile's `crop` times the α≈0 student's distance), Figs. 15/16 the same with the encoder-only KL (softmax over encoder features).
# Grid networks run in eval mode with the BN buffer choice recorded in the config (`bn`): the
# teacher's buffers make the teacher point reproduce the teacher exactly.

# %% tags=["parameters"]
profile = "quick"
resolution = None
epochs = None
bn = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from scipy.interpolate import RegularGridInterpolator

from rtdlib import plotting, sweeps
from rtdlib import landscape_plots as lp
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("05_landscapes", profile, resolution=resolution, epochs=epochs, bn=bn)
plotting.style()
grids = sweeps.landscape_grids(P)
P

# %%
run_all("distill", sweeps.landscape_distills(P))  # the endpoints first, side by side (each grid needs them)
results = dict(zip(grids, run_all("landscape", grids.values())))
M = {k: r.metrics for k, r in results.items()}
pd.DataFrame([{"grid": k, "points": m["points_evaluated"], "s/point": round(m["seconds_per_point"], 3),
               "hash": results[k].hash} for k, m in M.items()])


# %%
def panel_figure(keys, metrics, titles, name, row_labels):
    fig, axes = plt.subplots(len(metrics), len(keys), figsize=(4.6 * len(keys), 3.6 * len(metrics)), squeeze=False)
    for j, (key, title) in enumerate(zip(keys, titles)):
        for i, metric in enumerate(metrics):
            lp.heatmap(axes[i][j], M[key], metric, title=f"{title}: {lp.LABELS[metric]}")
            if grids[key].coords == "ortho":
                axes[i][j].set_aspect("equal")
        axes[-1][j].set_xlabel("λ1" if grids[key].coords == "interp" else "e1 (parameter units)")
        axes[0][j].legend(fontsize=7, loc="upper right", framealpha=0.8)
    for i, lab in enumerate(row_labels):
        axes[i][0].set_ylabel(lab)
    m = P["head"]["out_dim"]
    fig.suptitle(f"{P['dataset']}, {P['arch'][0]} ({P['arch'][1]} norm), m = {m}, {P['epochs']} epochs, "
                 f"BN buffers: {P['bn']}", fontsize=9)
    fig.tight_layout()
    plotting.save(fig, name, profile)
    plt.show()


VIEWS = ["nonlocal", "shared"]
TITLES = ["non-local view (α = 1)", f"shared view (α = {P['alpha']:g} and 1)"]

# %% [markdown]
# ## Fig. 5: interpolation coordinates (loss row, probing row)

# %%
panel_figure([f"{v}/interp" for v in VIEWS], ["kl", "linear"], TITLES, "fig05_landscapes_interp",
             ["loss landscape (λ2)", "probing landscape (λ2)"])

# %% [markdown]
# ## Fig. 13: orthonormal coordinates (distances and angles preserved)

# %%
panel_figure([f"{v}/ortho" for v in VIEWS], ["kl", "linear"], TITLES, "fig13_landscapes_ortho",
             ["loss landscape (e2)", "probing landscape (e2)"])

# %% [markdown]
# ## Fig. 14: crop around the teacher (shared view, orthonormal coordinates)

# %%
panel_figure(["shared/ortho/zoom"], ["kl", "linear"], ["crop around θ_T"], "fig14_teacher_crop",
             ["e2 (parameter units)", "e2 (parameter units)"])

# %% [markdown]
# ## Fig. 15: encoder-only KL (orthonormal coordinates), with the k-NN probing landscape

# %%
panel_figure([f"{v}/ortho" for v in VIEWS], ["enc_kl", "knn"], TITLES, "fig15_encoder_kl",
             ["encoder KL landscape (e2)", "k-NN probing landscape (e2)"])

# %% [markdown]
# ## Fig. 16: encoder-only KL, crop around the teacher

# %%
panel_figure(["shared/ortho/zoom"], ["enc_kl", "knn"], ["crop around θ_T"], "fig16_encoder_kl_crop",
             ["e2 (parameter units)", "e2 (parameter units)"])

# %% [markdown]
# ## The numbers behind the figures (every grid point, tidy)

# %%
rows = []
for key, m in M.items():
    for s, off in enumerate(m["stack"]):
        for i, b in enumerate(m["b"]):
            for j, a in enumerate(m["a"]):
                rows.append({"grid": key, "stack": off, "a": a, "b": b,
                             **{k: m["grids"][k][s][i][j] for k in m["grids"]}})
table = pd.DataFrame(rows)
plotting.save_table(table, "fig05_13_16_landscape_grids", profile)
points = pd.DataFrame([{"grid": k, **p} for k, m in M.items() for p in m["points"]])
points


# %%
def segment(m, target, metric):
    """Grid values on the straight segment from the teacher (0, 0) to a marked point (interp grids put
    the points on grid nodes, so the segment runs along a grid line)."""
    a, b = np.asarray(m["a"]), np.asarray(m["b"])
    z = np.asarray(m["grids"][metric][0])
    if target == 1:   # (1, 0): the row b = 0
        i, js = int(np.argmin(np.abs(b))), np.flatnonzero((a > -1e-9) & (a < 1 + 1e-9))
        return a[js], z[i, js]
    j, is_ = int(np.argmin(np.abs(a))), np.flatnonzero((b > -1e-9) & (b < 1 + 1e-9))
    return b[is_], z[is_, j]


zoom = M["shared/ortho/zoom"]
za, zb = np.asarray(zoom["a"]), np.asarray(zoom["b"])
row = zoom["grids"]["kl"][0][int(np.argmin(np.abs(zb)))]  # the e1 axis through the teacher
lin_row = zoom["grids"]["linear"][0][int(np.argmin(np.abs(zb)))]
c = int(np.argmin(np.abs(za)))
local_pt = M["shared/ortho"]["points"][1]
r = max(1, min(int(round(local_pt["a"] / (za[1] - za[0]))), c, len(za) - 1 - c))  # grid steps ≈ |θ*_S(0) − θ_T|
kl_t, kl_plus, kl_minus = row[c], row[c + r], row[c - r]
shared = M["shared/interp"]
lam, kl_local = segment(shared, 1, "kl")
_, lin_local = segment(shared, 1, "linear")
_, kl_far = segment(shared, 2, "kl")
ratio = kl_minus / max(kl_plus, 1e-12)
shape = ("steeper away from the α≈0 student than towards it (an asymmetric valley)" if ratio > 1.5 else
         "steeper towards the α≈0 student than away from it" if ratio < 1 / 1.5 else
         "about as steep on both sides (no clear asymmetry at this crop)")
barrier = kl_local.max() > 1.05 * max(kl_local[0], kl_local[-1])
fresh = M["nonlocal/ortho"]["points"]
moved_far = np.hypot(fresh[2]["a"] - fresh[1]["a"], fresh[2]["b"] - fresh[1]["b"])
text = f"""### What this run found ({profile} profile, BN buffers: {P['bn']})

- **Asymmetric valley at the teacher** (crop around θ_T, e1 pointing to the α≈0 student at distance
  {local_pt['a']:.3g}): KL to the teacher is {kl_t:.2e} at θ_T, {kl_plus:.2e} at distance {za[c + r]:.3g} towards the
  student and {kl_minus:.2e} the same distance away from it (ratio {ratio:.1f}): the valley is {shape}.
  Linear probe on that axis: {lin_row[c - r]*100:.1f}% (away), {lin_row[c]*100:.1f}% (teacher),
  {lin_row[c + r]*100:.1f}% (towards the student).
- **Teacher → α≈0 student** (distance {local_pt['a']:.3g}; {len(lam)} grid nodes on the segment): KL goes from
  {kl_local[0]:.2e} to {kl_local[-1]:.2e} with a maximum of {kl_local.max():.2e} at λ1 = {lam[np.argmax(kl_local)]:.2f}
  ({'a barrier: the student sits in a separate local minimum' if barrier else 'no barrier on this grid: the student is downhill of the path'});
  the linear probe goes from {lin_local[0]*100:.1f}% to {lin_local[-1]*100:.1f}% (peak {lin_local.max()*100:.1f}%).
- **Teacher → α = 1 student**: KL from {kl_far[0]:.2e} to {kl_far[-1]:.2e}, maximum {kl_far.max():.2e} on the segment
  ({'a barrier' if kl_far.max() > 1.05 * max(kl_far[0], kl_far[-1]) else 'no barrier on this grid'}).
- **Distances** (orthonormal coordinates): the α≈0 student moved {local_pt['a']:.3g} from the teacher; the α = 1
  student moved {moved_far:.3g} from its fresh initialization, which lies {fresh[1]['a']:.3g} from the teacher.
"""
if profile != "paper":
    text += (f"\nThese are small nets trained for {P['epochs']} epochs on {P['dataset']}, not the paper's ResNet18 "
             "after 150 epochs on CIFAR-10: compare shapes, not values.")
display(Markdown(text))
