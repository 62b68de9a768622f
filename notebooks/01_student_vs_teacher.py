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
profile = "quick"  # smoke, quick or paper; every None below means "the profile's value"
seeds = None
epochs = None
probe_epochs = None
probe_steps = None
dataset = None
train_size = None
test_size = None
archs = None
head = None
alpha = None
lr = None
batch_size = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import plotting, stats, sweeps, tidy
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("01_student_vs_teacher", profile, seeds=seeds, epochs=epochs, probe_epochs=probe_epochs,
             probe_steps=probe_steps, dataset=dataset, train_size=train_size, test_size=test_size, archs=archs, head=head, alpha=alpha,
             lr=lr, batch_size=batch_size)
plotting.style()
P

# %%
results = run_all("distill", sweeps.student_vs_teacher(P))
def label(arch, norm):
    return f"{arch} ({ {'batch': 'BN', 'none': 'no BN'}.get(norm, norm) })"

probes = tidy.frame(results, "probes")
probes["model"] = [label(a, n) for a, n in zip(probes["arch"], probes["norm"])]
models = list(dict.fromkeys(probes["model"]))
first_seed = {label(r.config["model"]["arch"], r.config["model"]["norm"]): r for r in reversed(results)}

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
def gap(model, probe, a, b):
    t = tests[(tests.model == model) & (tests.probe == probe) & (tests.comparison == f"{a} − {b}")]
    return None if t.empty else t.iloc[0]


def verdict(model, probe):
    vs_t, vs_bn = gap(model, probe, "student", "teacher"), gap(model, probe, "student", "teacher_bnrecal")
    text = f"{probe}: student − teacher {vs_t.mean_diff:+.1f} points (paired t p = {vs_t.p_t:.3f})"
    if vs_bn is None:
        return text + " (no BN, so no recalibrated baseline)"
    text += f", student − BN-recalibrated teacher {vs_bn.mean_diff:+.1f} points (p = {vs_bn.p_t:.3f})"
    if vs_t.mean_diff <= 0:
        return text + ": no gain to explain"
    if vs_bn.mean_diff <= 0:
        return text + ": **BN recalibration alone matches the student's gain**"
    sig = "" if vs_bn.p_t < 0.05 else " (not significant at this number of seeds)"
    return text + f": the student keeps a gain beyond BN recalibration{sig}"


def finding(model):
    f = final[(final.model == model) & (final.probe == "linear")].groupby("net")["acc"].mean() * 100
    beats = "beats" if f["student"] > f["teacher"] else "does **not** beat"
    lines = [f"- **{model}**: the student {beats} its teacher in the linear probe "
             f"({f['student']:.1f}% vs {f['teacher']:.1f}%; flattened input {f['input']:.1f}%)."]
    lines += [f"    - {verdict(model, pr)}." for pr in ("linear", "knn", "linear_low", "knn_low")]
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


n = len(P["seeds"])
display(Markdown(f"### What this run found ({profile} profile, {P['dataset']}, {n} seeds, "
                 f"{P['epochs']} epochs)\n\n" + "\n".join(finding(m) for m in models)
                 + f"\n\nWith {n} paired seeds the Wilcoxon test cannot go below p = {2 / 2 ** n:.2f}; "
                 "the t-test assumes normal differences. Treat single comparisons as indicative."))
