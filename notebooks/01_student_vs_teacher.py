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
# # Fig. 1 and Tables 1, 3: students of random teachers beat their teachers
#
# A student initialized next to its random teacher (locality α = 1e-10) is distilled into the
# frozen teacher with no data augmentation and no labels. We probe encoder features of the input
# (flattened pixels), the teacher and the student with a linear probe and k-NN (k = 20), on the
# full training labels and on 10 labels per class. The paper's architectures are ResNet18 (with
# BN) and VGG11 without BN on CIFAR-10; the smaller profiles use a small ResNet-style net with BN
# and a small VGG-style net without BN (the line under the parameters gives this run's sizes).
#
# **Is it only BN?** A teacher with BN runs in eval mode with its running statistics at their
# initial values (mean 0, variance 1). We therefore also probe the teacher and the student after
# re-estimating only their BN statistics on the training images (no weight changes).

# %% tags=["parameters"]
profile = "quick"  # smoke, quick, paper or paper-trial; every None below means "the profile's value"
seeds = None
epochs = None
probe_epochs = None
probe_steps = None
dataset = None
more_datasets = None  # further datasets, run like `dataset` (paper: Tables 1 and 3's other rows)
train_size = None
test_size = None
archs = None
head = None
alpha = None
lr = None
batch_size = None
precision = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import claims, plotting, stats, sweeps, tidy
from rtdlib.claims import student_vs_teacher as C
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("01_student_vs_teacher", profile, seeds=seeds, epochs=epochs, probe_epochs=probe_epochs,
             probe_steps=probe_steps, dataset=dataset, more_datasets=more_datasets, train_size=train_size, test_size=test_size, archs=archs, head=head, alpha=alpha,
             lr=lr, batch_size=batch_size, precision=precision)
plotting.style()
P

# %%
results = run_all("distill", sweeps.student_vs_teacher(P))
DATASETS = sweeps.datasets(P)


def label(arch, norm, data):
    """The model, and its dataset when the run has several (each dataset is a row of Tables 1 and 3)."""
    own = f"{arch} ({ {'batch': 'BN', 'none': 'no BN'}.get(norm, norm) })"
    return own if len(DATASETS) == 1 else f"{own}, {plotting.DATASET_NAMES.get(data, data)}"


probes = tidy.frame(results, "probes", keys=("model.arch", "model.norm", "seed", "data.name"))
probes["model"] = [label(a, n, d) for a, n, d in zip(probes["arch"], probes["norm"], probes["name"])]
models = list(dict.fromkeys(probes["model"]))
dataset_of = dict(zip(probes["model"], probes["name"]))
first_seed = {label(r.config["model"]["arch"], r.config["model"]["norm"], r.config["data"]["name"]): r
              for r in reversed(results)}
steps = sorted({tidy.steps(r) for r in results})
last_step = {m: probes[probes.model == m].step.max() for m in models}
setting = plotting.setting(", ".join(plotting.DATASET_NAMES.get(d, d) for d in DATASETS), steps, P["seeds"],
                           P["image_size"])
PROBES = [p for p in ("linear", "knn", "linear_low", "knn_low") if p in set(probes.probe)]
PROBE_LABEL = {"linear": "linear", "knn": "k-NN", "linear_low": "linear, 10 labels/class",
               "knn_low": "k-NN, 10 labels/class"}
FLAT_EPS, FLAT_K = 0.5, 3  # points per doubling of steps: a curve gaining less than half a point per doubling is flat
display(Markdown(f"This run: {setting}; {len(results)} runs ({len(models)} models × {len(P['seeds'])} seeds), "
                 f"{P['train_size'] or 'all'} training images, batch {P['batch_size']}, m = {P['head']['out_dim']}, "
                 f"probes at steps {sorted(set(probes.step))}."))

# %% [markdown]
# ## Fig. 1: linear probe accuracy vs optimizer steps (mean ± sd over seeds), full labels and 10 labels per class
#
# On the profile's `dataset` (the paper's Fig. 1: CIFAR-10); the other datasets enter the tables.
#
# The step axis is logarithmic above the first probe step and linear below it (so step 0 is shown).
# The dotted vertical line marks where the student's curve is flat (`stats.flat_from`): from there on, every
# window of `FLAT_K` consecutive probe steps has a per-seed slope against log2(step) whose 95% CI lies inside
# ±`FLAT_EPS` points per doubling, and the student's mean stays above its teacher's.

# %%
def flat_step(model, probe="linear"):
    """(The probe step from which the student's curve is flat above its teacher, or None; the last probe step.)"""
    d = probes[(probes.model == model) & (probes.probe == probe)]
    student = d[d.net == "student"].assign(value=lambda x: x.acc * 100)
    return (stats.flat_from(student, FLAT_EPS, FLAT_K, baseline=d[d.net == "teacher"].acc.mean() * 100),
            int(d.step.max()))


curve_probes = [p for p in ("linear", "linear_low") if p in PROBES]
fig_models = [m for m in models if dataset_of[m] == P["dataset"]]
fig, axes = plt.subplots(len(curve_probes), len(fig_models), figsize=(5 * len(fig_models), 3.4 * len(curve_probes)),
                         sharex=True, squeeze=False)
curves = stats.mean_sd(probes, ["model", "probe", "net", "step"])
for row, probe in enumerate(curve_probes):
    for ax, model in zip(axes[row], fig_models):
        for net, d in curves[(curves.model == model) & (curves.probe == probe)].groupby("net", sort=False):
            plotting.mean_band(ax, d.step, d["mean"] * 100, d.sd * 100, plotting.COLORS[net], plotting.LABELS[net],
                               ms=3, band_alpha=0.2)
        at, end = flat_step(model, probe)
        if at is not None:
            ax.axvline(at, color=plotting.COLORS["student"], ls=":", lw=1, label=f"student flat from step {at:,}")
        ax.set(title=f"{model}: {PROBE_LABEL[probe]} probe", ylabel="probe accuracy (%)")
        ax.set_xscale("symlog", linthresh=max(1, min(s for s in curves.step if s > 0)))
    handles = {l: h for ax in axes[row] for h, l in zip(*ax.get_legend_handles_labels())}  # one legend per row
    axes[row][-1].legend(handles.values(), handles.keys(), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
for ax in axes[-1]:
    ax.set_xlabel("optimizer steps (symlog scale)")
fig.suptitle(f"{plotting.setting(P['dataset'], steps, P['seeds'], P['image_size'])}; α = {P['alpha']:g}, "
             f"m = {P['head']['out_dim']}", fontsize=10)
fig.tight_layout()
plotting.save(fig, "fig01_student_vs_teacher", profile);

# %% [markdown]
# ## Tables 1 and 3: final probe accuracy (%), mean ± sd over seeds (linear: Table 1, k-NN: Table 3)

# %%
final = probes[probes.step == probes.model.map(last_step)]
summary = stats.mean_sd(final, ["model", "probe", "net"])
summary["acc (%)"] = [stats.fmt(m, s) for m, s in zip(summary["mean"], summary["sd"])]
table = summary.pivot(index=["model", "probe"], columns="net", values="acc (%)")
table = table[[n for n in plotting.LABELS if n in table.columns]].rename(columns=plotting.LABELS)
plotting.save_table(summary, "table1_3_probes", profile);
display(table)

# %% [markdown]
# ## The paper's numbers next to ours (the rows of Tables 1 and 3 for this run's datasets; Fig. 1's end points are Table 1's)
#
# The paper: ResNet18 (BN) and VGG11 (no BN) on CIFAR-10, CIFAR-100, STL-10 and Tiny ImageNet at 32×32, 150
# epochs, m = 2^16; we pair its ResNet18 with our net with BN and its VGG11 with our net without BN, dataset by
# dataset (a dataset without a row there is compared with CIFAR-10's: then only the gains are comparable). The settings of this run are in the title line.

# %%
def paper_rows(linear, knn):
    """One dataset's rows of Table 1 (linear) and Table 3 (k-NN): (teacher, student) per model, then the input."""
    return {(bn, probe): {"teacher": t, "student": s, "input": values[2]}
            for probe, values in (("linear", linear), ("knn", knn)) for bn, (t, s) in zip(("BN", "no BN"), values[:2])}


PAPER = {"cifar10": paper_rows(((35.50, 46.02), (36.55, 51.98), 39.02), ((37.65, 44.67), (44.92, 51.32), 33.61)),
         "cifar100": paper_rows(((11.58, 21.50), (12.05, 26.62), 14.07), ((13.77, 20.22), (18.10, 23.53), 14.87)),
         "stl10": paper_rows(((24.24, 40.58), (24.67, 46.20), 31.51), ((31.71, 37.41), (36.92, 43.58), 28.94)),
         "tiny-imagenet": paper_rows(((4.85, 10.40), (5.25, 12.88), 3.28), ((4.59, 7.11), (5.98, 9.23), 3.44))}
PAPER_ARCH = {"BN": "ResNet18", "no BN": "VGG11"}


def bn_of(model):
    return "no BN" if "(no BN)" in model else "BN" if "(BN)" in model else None


def paper_dataset(model):
    return dataset_of[model] if dataset_of[model] in PAPER else "cifar10"


def paper_of(model, probe):
    """The paper's numbers for this model's dataset (else CIFAR-10's), architecture pairing and probe (None: none)."""
    return PAPER[paper_dataset(model)].get((bn_of(model), probe))


mean_of = summary.set_index(["model", "probe", "net"])
# the datasets differ (CIFAR-10 vs this profile's), so the comparable number is the gain over the teacher
vs_paper = pd.DataFrame([{"paper dataset": paper_dataset(m), "paper model": PAPER_ARCH[bn_of(m)], "our model": m, "probe": p,
                          **{f"paper {net} (%)": paper_of(m, p)[net] for net in ("input", "teacher", "student")},
                          "paper gain (points)": paper_of(m, p)["student"] - paper_of(m, p)["teacher"],
                          **{f"ours {net} (%)": mean_of.loc[(m, p, net), "acc (%)"] for net in ("input", "teacher", "student")},
                          "our gain (points)": (mean_of.loc[(m, p, "student"), "mean"]
                                                - mean_of.loc[(m, p, "teacher"), "mean"]) * 100}
                         for m in models for p in ("linear", "knn") if paper_of(m, p)])
plotting.save_table(vs_paper, "table1_3_paper_vs_ours", profile);
vs_paper.round(2)

# %% [markdown]
# ## The paper's claims, judged by the claims engine
#
# Each claim is declared once in `rtdlib/claims/student_vs_teacher.py` (the paper's words, the arms and
# metric, the direction, the margin δ and why, the steps it is tested at) and judged by `rtdlib.claims` on
# the per-seed accuracies in points: one-sided paired t-tests in the paper's direction, Holm-corrected within
# each claim's own tests only (one per architecture, and for Fig. 1 one per probe step from epoch 1 on).
# Student vs teacher and student vs the flattened input are separate claims. The table lists every test.

# %%
J = claims.Judge("01_student_vs_teacher", P, results)
for c in C.CLAIMS:
    J.evaluate(c, claims.pair(probes[probes.probe == c.probes[0]], "net", *c.arms, on=("model", "step", "epoch")))
plotting.save_table(J.tests(), "stats_01_student_vs_teacher", profile)
J.save(profile)
display(Markdown("\n".join(f"- {claims.sentence(r)}" for r in J.rows) + "\n\n" + claims.RULE))
J.tests().round(4)

# %% [markdown]
# ## What else this run shows (descriptive: the paper claims none of it, so no outcome)
#
# Per model: where the student's curve is flat, the final probes, and "is it only BN?": the student and
# the BN-recalibrated student vs the BN-recalibrated teacher (mean difference over seeds with its 95% CI).

# %%
def acc(model, probe, net):
    return mean_of.loc[(model, probe, net), "mean"] * 100


def diff_ci(model, probe, a, b):
    d = claims.pair(final[(final.model == model) & (final.probe == probe)], "net", a, b)
    mean, half = stats.mean_ci(d[a] - d[b])
    return f"{plotting.LABELS[a]} − {plotting.LABELS[b]} {mean:+.1f} ± {half:.1f} points"


def finding(model):
    at, end = flat_step(model)
    lines = [f"- **{model}**: the student's linear probe curve "
             + (f"is flat above its teacher from step {at:,} on (final {acc(model, 'linear', 'student'):.1f}%)."
                if at is not None else f"is **not** flat above its teacher by the last probe (step {end:,}).")]
    for pr in PROBES:
        nets = [n for n in ("student", "teacher", "input", "teacher_bnrecal") if (model, pr, n) in mean_of.index]
        recal = [diff_ci(model, pr, a, "teacher_bnrecal") for a in ("student", "student_bnrecal")
                 if (model, pr, a) in mean_of.index and (model, pr, "teacher_bnrecal") in mean_of.index]
        lines.append(f"    - {PROBE_LABEL[pr]}: " + ", ".join(f"{plotting.LABELS[n]} {acc(model, pr, n):.1f}%" for n in nets)
                     + (f"; is it only BN? {'; '.join(recal)} (95% CIs)" if recal else "") + ".")
    r = first_seed[model]
    init, kl0 = r.metrics["init"], r.metrics["history"][0]["kl"]
    lines.append(f"    - Seed {r.config['seed']}: at α = {P['alpha']:g}, {100 * init['frac_identical']:.2f}% of the student's float32 weights are "
                 f"bit-identical to the teacher's (intended distance {init['dist_intended']:.1e}, actual "
                 f"{init['dist_actual']:.1e}); epoch-0 KL {kl0:.1e}. "
                 + ("Without BN the student starts as a near-exact copy, so its first gradients are rounding "
                    "noise that Adam rescales to full-size steps." if "no BN" in model else
                    "With BN the student (train mode, batch statistics) differs from the teacher (eval mode, "
                    "initial running statistics) even at identical weights."))
    return "\n".join(lines)


display(Markdown(f"### What this run shows ({profile} profile: {setting})\n\n" + "\n".join(finding(m) for m in models)))
J.table()
