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
#
# **Seeds.** The figures show the teacher and students of the first seed, as the paper shows one. The
# claims need more: the crop around the teacher is computed for every seed of the profile, and so are
# `null_directions` random lines through each seed's teacher, as long as its α≈0 student's displacement
# and sampled at the crop's offsets (losses only): the null of the asymmetric valley (last section).
#
# **BN buffers.** Grid networks run in eval mode, and only parameters move in the plane; what a point
# uses as BN running statistics is a recorded choice (`bn`, in every panel title). With the teacher's
# buffers (`bn = "teacher"`, the profile's default) the teacher point reproduces the teacher exactly,
# but the students are then evaluated with the teacher's *initial* statistics (mean 0, variance 1), not
# as the function they were trained to be (a student trains in train mode, on batch statistics). The
# extra figure at the end draws the shared view again with the other choice (`bn = "recompute"`:
# statistics re-estimated on the fixed train subset at every grid point, which is how the students
# behave on data but moves the teacher point off the teacher).

# %% tags=["parameters"]
profile = "quick"
resolution = None
epochs = None
bn = None
seeds = None
precision = None
train_size = None
test_size = None
crop_resolution = None
eval_size = None
probe_train = None
probe_test = None
crop_probe_test = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import claims, plotting, sweeps, tidy
from rtdlib import landscape_plots as lp
from rtdlib.claims import landscapes as C
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("05_landscapes", profile, resolution=resolution, epochs=epochs, bn=bn, seeds=seeds,
             precision=precision, train_size=train_size, test_size=test_size, crop_resolution=crop_resolution,
             eval_size=eval_size, probe_train=probe_train, probe_test=probe_test, crop_probe_test=crop_probe_test)
plotting.style()
grids = sweeps.landscape_grids(P)
nulls = sweeps.valley_nulls(P)
P

# %%
endpoints = run_all("distill", sweeps.landscape_distills(P))  # first, side by side (each grid needs them)
results = dict(zip([*grids, *nulls], run_all("landscape", [*grids.values(), *nulls.values()])))
M = {k: r.metrics for k, r in results.items()}
first_seed = P["seeds"][0]
setting = plotting.setting(P["dataset"], [tidy.steps(r) for r in endpoints], [first_seed], P["image_size"])
pd.DataFrame([{"grid": k, "points": m["points_evaluated"], "s/point": round(m["seconds_per_point"], 3),
               "hash": results[k].hash} for k, m in M.items()])


# %%
BN_LABEL = {"teacher": "teacher's (initial)", "recompute": "recomputed on train subset"}


def panel_figure(keys, metrics, titles, name, row_labels, share_rows=False):
    """One column per grid, one row per metric; share_rows: one colour range per row (to compare columns)."""
    fig, axes = plt.subplots(len(metrics), len(keys), figsize=(4.6 * len(keys), 3.8 * len(metrics)), squeeze=False)
    ims = [[None] * len(keys) for _ in metrics]
    for j, (key, title) in enumerate(zip(keys, titles)):
        for i, metric in enumerate(metrics):
            ims[i][j] = lp.heatmap(axes[i][j], M[key], metric,
                                   title=f"{title}: {lp.LABELS[metric]}\nBN buffers: {BN_LABEL[grids[key].bn]}")
            if grids[key].coords == "ortho":
                axes[i][j].set_aspect("equal")
        axes[-1][j].set_xlabel("λ1" if grids[key].coords == "interp" else "e1 (parameter units)")
    for i, lab in enumerate(row_labels):
        axes[i][0].set_ylabel(lab)
        if share_rows:
            lims = [im.get_clim() for im in ims[i]]
            for im in ims[i]:
                im.set_clim(min(lo for lo, _ in lims), max(hi for _, hi in lims))
    m = P["head"]["out_dim"]
    fig.suptitle(f"{P['arch'][0]} ({P['arch'][1]} norm), m = {m}; endpoints: {setting} (seed {first_seed}); "
                 "probe accuracies in %", fontsize=9)
    fig.tight_layout()
    handles = {l: h for ax in axes.flat for h, l in zip(*ax.get_legend_handles_labels())}  # below: never on data
    fig.legend(handles.values(), handles.keys(), loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=7,
               ncol=len(handles), framealpha=0.9, facecolor="lightgrey")
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
# ## The shared view with both BN buffer choices (interpolation coordinates: the points are grid nodes)

# %%
bn_alt = next(k for k in grids if k.startswith("shared/interp/bn="))
bn_keys = sorted(["shared/interp", bn_alt], key=lambda k: grids[k].bn != "teacher")  # teacher's buffers first
panel_figure(bn_keys, ["kl", "linear"], ["shared view"] * 2, "extra_landscapes_bn_choice",
             ["loss landscape (λ2)", "probing landscape (λ2)"], share_rows=True)

# %% [markdown]
# ## The numbers behind the figures (every grid point, tidy)

# %%
rows = []
for key, m in ((k, M[k]) for k in grids):
    for s, off in enumerate(m["stack"]):
        for i, b in enumerate(m["b"]):
            for j, a in enumerate(m["a"]):
                rows.append({"grid": key, "stack": off, "a": a, "b": b,
                             **{k: m["grids"][k][s][i][j] for k in m["grids"]}})
table = pd.DataFrame(rows)
plotting.save_table(table, "fig05_13_16_landscape_grids", profile);
points = pd.DataFrame([{"grid": k, **p} for k in grids for p in M[k]["points"]])
points


# %% [markdown]
# ## The paper's claims, judged by the claims engine
#
# Declared once in `rtdlib/claims/landscapes.py` and judged by `rtdlib.claims`, one-sided in the paper's
# direction over seeds. On the e1 axis of every seed's crop (e1 points from θ_T to the α≈0 student) we pair
# the k-th grid point towards the student with the k-th point away from it, for every k up to the crop's
# edge, and average over k per seed:
#
# - **Fig. 14, asymmetric valley**: A = mean log10 KL away − towards. Any direction through a curved
#   landscape is somewhat asymmetric, so A is compared with the same asymmetry along `null_directions`
#   random directions through the same teacher, each as long as the student's displacement and sampled at
#   the same offsets: per seed, A minus the mean |A| of the random lines (their orientation is arbitrary).
# - **Fig. 5, the gentle side probes higher**: the linear probe towards the student minus away from it.

# %%
n_test = grids["shared/ortho/zoom"].probe_test
zoom_keys = {first_seed: "shared/ortho/zoom"} | {s: f"shared/ortho/zoom/seed={s}" for s in P["seeds"][1:]}


def se(p, n=n_test):
    """Binomial standard error of a probe accuracy on n test images (default: the crop's)."""
    return np.sqrt(p * (1 - p) / n)


def e1_axis(m):
    """±k grid steps along e1 from the teacher: distance, KL and probe away from / towards the α≈0 student."""
    za, zb = np.asarray(m["a"]), np.asarray(m["b"])
    i0, c = int(np.argmin(np.abs(zb))), int(np.argmin(np.abs(za)))
    kl, lin = np.asarray(m["grids"]["kl"][0][i0]), np.asarray(m["grids"]["linear"][0][i0])
    return pd.DataFrame([{"distance": za[c + k], "KL away": kl[c - k], "KL towards": kl[c + k],
                          "probe away": lin[c - k], "probe towards": lin[c + k]}
                         for k in range(1, min(c, len(za) - 1 - c) + 1)]), lin[c]


def student_asymmetry(m):
    """A along e1 (the − side points away from the α≈0 student), on the crop's row through the teacher."""
    return float(C.asymmetry(m["grids"]["kl"][0][int(np.argmin(np.abs(np.asarray(m["b"]))))], m["a"]))


per_seed = []
for seed, k in zoom_keys.items():
    v, _ = e1_axis(M[k])
    null = M[f"null/seed={seed}"]
    assert np.allclose(null["a"], M[k]["a"]), "the random lines must sample the crop's offsets"
    rand = np.abs(C.asymmetry(null["grids"]["kl"][0], null["a"]))  # a random line's orientation is arbitrary
    student = student_asymmetry(M[k])
    per_seed.append({"seed": seed, "points per side": len(v), "student direction": student,
                     "random directions": rand.mean(), "largest random |A|": rand.max(),
                     "random lines at least as asymmetric": f"{(rand >= student).sum()} of {len(rand)}",
                     "towards the student": v["probe towards"].mean() * 100,
                     "away from the student": v["probe away"].mean() * 100})
per_seed = pd.DataFrame(per_seed)
J = claims.Judge("05_landscapes", P, endpoints)
for c in C.CLAIMS:
    J.evaluate(c, per_seed)
plotting.save_table(per_seed, "fig14_valley_per_seed", profile);
plotting.save_table(J.tests(), "stats_05_landscapes", profile);
J.save(profile)
display(Markdown("\n".join(f"- {claims.sentence(r)}" for r in J.rows)))
display(per_seed.round(3), J.tests().round(4))

# %% [markdown]
# ## What else this run shows (descriptive: no outcome)

# %%
valley, p_teacher = e1_axis(M["shared/ortho/zoom"])
valley["SE of difference"] = np.hypot(se(valley["probe towards"]), se(valley["probe away"]))
display(valley)
zoom = M["shared/ortho/zoom"]
local_pt = zoom["points"][1]
near = valley.iloc[0]


def at_point(m, metric, p):
    """The grid value at a marked point (interp grids put the points on grid nodes)."""
    a, b = np.asarray(m["a"]), np.asarray(m["b"])
    return m["grids"][metric][0][int(np.argmin(np.abs(b - p["b"])))][int(np.argmin(np.abs(a - p["a"])))]


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


shared = M["shared/interp"]
lam, kl_local = segment(shared, 1, "kl")
_, lin_local = segment(shared, 1, "linear")
_, kl_far = segment(shared, 2, "kl")
fresh = M["nonlocal/ortho"]["points"]
moved_far = np.hypot(fresh[2]["a"] - fresh[1]["a"], fresh[2]["b"] - fresh[1]["b"])
bn_rows = pd.DataFrame([{"BN buffers": BN_LABEL[grids[k].bn], "point": p["name"],
                         **{metric: at_point(M[k], metric, p) for metric in ("kl", "linear", "knn")}}
                        for k in bn_keys for p in M[k]["points"]])
display(bn_rows)
bn_t, bn_o = (bn_rows[bn_rows["BN buffers"] == BN_LABEL[grids[k].bn]].reset_index(drop=True) for k in bn_keys)
text = f"""### What this run shows ({profile} profile; BN buffers: {BN_LABEL[P['bn']]} unless stated)

- **The two sides of the valley, seed {first_seed}** (linear probe on {n_test} test images, ± the binomial
  standard error of one grid point): at distance {near['distance']:.3g} towards the student
  {near['probe towards']*100:.1f} ± {se(near['probe towards'])*100:.1f}%, away {near['probe away']*100:.1f} ±
  {se(near['probe away'])*100:.1f}%, the teacher {p_teacher*100:.1f} ± {se(p_teacher)*100:.1f}%.
- **Teacher → α≈0 student** (seed {first_seed}; distance {local_pt['a']:.3g}; {len(lam)} grid nodes on the segment): KL goes from
  {kl_local[0]:.2e} to {kl_local[-1]:.2e} with a maximum of {kl_local.max():.2e} at λ1 = {lam[np.argmax(kl_local)]:.2f}
  ({kl_local.max() / max(kl_local[0], kl_local[-1]):.3g}× the larger end; one seed, so no test);
  the linear probe goes from {lin_local[0]*100:.1f}% to {lin_local[-1]*100:.1f}% (peak {lin_local.max()*100:.1f}%;
  ± {se(lin_local.max(), grids['shared/interp'].probe_test)*100:.1f} at {grids['shared/interp'].probe_test} test images).
- **Teacher → α = 1 student** (seed {first_seed}): KL from {kl_far[0]:.2e} to {kl_far[-1]:.2e}, maximum {kl_far.max():.2e} on the segment
  ({kl_far.max() / max(kl_far[0], kl_far[-1]):.3g}× the larger end).
- **Distances** (orthonormal coordinates, seed {first_seed}): the α≈0 student moved {local_pt['a']:.3g} from the teacher; the α = 1
  student moved {moved_far:.3g} from its fresh initialization, which lies {fresh[1]['a']:.3g} from the teacher.
- **BN buffers** (shared view, seed {first_seed}, table above): with the buffers {bn_o['BN buffers'][0]} the teacher point has KL
  {bn_o['kl'][0]:.2e} to the teacher (with the teacher's: {bn_t['kl'][0]:.2e}); the α≈0 student has KL {bn_o['kl'][1]:.2e}
  (vs {bn_t['kl'][1]:.2e}) and linear probe {bn_o['linear'][1]*100:.1f}% (vs {bn_t['linear'][1]*100:.1f}%), the α = 1 student
  {bn_o['linear'][2]*100:.1f}% (vs {bn_t['linear'][2]*100:.1f}%), teacher {bn_o['linear'][0]*100:.1f}% (vs {bn_t['linear'][0]*100:.1f}%).
"""
if profile != "paper":
    text += (f"\nThese are small nets ({setting}), not the paper's ResNet18 after 150 epochs on CIFAR-10: compare "
             "shapes, not values.")
display(Markdown(text))

# %%
J.table()
