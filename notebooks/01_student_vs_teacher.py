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
# BN) and VGG11 without BN on CIFAR-10; the `quick` profile uses a small ResNet-style net with BN
# and a small VGG-style net without BN on Fashion-MNIST.
#
# **Is it only BN?** A teacher with BN runs in eval mode with its running statistics at their
# initial values (mean 0, variance 1). We therefore also probe the teacher and the student after
# re-estimating only their BN statistics on the training images (no weight changes).

# %% tags=["parameters"]
profile = "quick"
seeds = None
epochs = None
train_size = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import plotting, stats, sweeps, tidy
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("01_student_vs_teacher", profile, seeds=seeds, epochs=epochs, train_size=train_size)
plotting.style()
P

# %%
results = run_all("distill", sweeps.student_vs_teacher(P))
probes = tidy.frame(results, "probes")
probes["model"] = probes["arch"] + " (" + probes["norm"].map({"batch": "BN", "none": "no BN"}).fillna(probes["norm"]) + ")"
models = list(dict.fromkeys(probes["model"]))

# %% [markdown]
# ## Fig. 1: linear probe accuracy vs epoch (mean ± sd over seeds)

# %%
fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.6), sharey=True, squeeze=False)
curves = stats.mean_sd(probes[probes.probe == "linear"], ["model", "net", "epoch"])
for ax, model in zip(axes[0], models):
    for net, d in curves[curves.model == model].groupby("net", sort=False):
        ax.plot(d.epoch, d["mean"] * 100, "-o", ms=3, color=plotting.COLORS[net], label=plotting.LABELS[net])
        ax.fill_between(d.epoch, (d["mean"] - d.sd) * 100, (d["mean"] + d.sd) * 100, color=plotting.COLORS[net], alpha=0.2)
    ax.set(title=model, xlabel="epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7, loc="best")
axes[0][0].set_ylabel("linear probe accuracy (%)")
fig.suptitle(f"{P['dataset']}, {len(P['seeds'])} seeds, α = {P['alpha']:g}, m = {P['head']['out_dim']}", fontsize=10)
plotting.save(fig, "fig01_student_vs_teacher", profile)

# %% [markdown]
# ## Tables 1 and 3: final probe accuracy (%), mean ± sd over seeds

# %%
final = probes[probes.epoch == P["epochs"]]
summary = stats.mean_sd(final, ["model", "probe", "net"])
summary["acc (%)"] = [stats.fmt(m, s) for m, s in zip(summary["mean"], summary["sd"])]
table = summary.pivot(index=["model", "probe"], columns="net", values="acc (%)")
table = table[[n for n in plotting.LABELS if n in table.columns]].rename(columns=plotting.LABELS)
plotting.save_table(summary, "table01_03_probes", profile)
display(table)

# %% [markdown]
# ## Is it only BN? Student vs the BN-recalibrated teacher, paired over seeds

# %%
def paired(model, probe, a, b):
    d = final[(final.model == model) & (final.probe == probe)].pivot(index="seed", columns="net", values="acc")
    if a not in d or b not in d:
        return None
    return {"model": model, "probe": probe, "comparison": f"{a} − {b}", **stats.paired_test(d[a], d[b])}

rows = [r for m in models for pr in ("linear", "knn", "linear_low", "knn_low")
        for a, b in (("student", "teacher"), ("student", "teacher_bnrecal"), ("student_bnrecal", "teacher_bnrecal"))
        if (r := paired(m, pr, a, b))]
tests = pd.DataFrame(rows)
tests["mean_diff"] *= 100
plotting.save_table(tests, "table_bn_baseline_tests", profile)
tests.round(4)

# %%
def finding(model):
    f = final[(final.model == model) & (final.probe == "linear")].groupby("net")["acc"].mean() * 100
    knn = final[(final.model == model) & (final.probe == "knn_low")].groupby("net")["acc"].mean() * 100
    verdict = "beats" if f["student"] > f["teacher"] else "does **not** beat"
    text = (f"- **{model}**: the student {verdict} its teacher in the linear probe "
            f"({f['student']:.1f}% vs {f['teacher']:.1f}%; input {f['input']:.1f}%)")
    if "teacher_bnrecal" in f:
        gap = f["student"] - f["teacher_bnrecal"]
        text += (f"; against the BN-recalibrated teacher ({f['teacher_bnrecal']:.1f}%) the student is "
                 f"{gap:+.1f} points (10-labels-per-class k-NN: student {knn['student']:.1f}%, "
                 f"recalibrated teacher {knn['teacher_bnrecal']:.1f}%)")
    return text + "."

display(Markdown(f"### What this run found ({profile} profile, {len(P['seeds'])} seeds)\n\n"
                 + "\n".join(finding(m) for m in models)))
