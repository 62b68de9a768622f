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
# # Fig. 8: lottery tickets in the distilled student
#
# Iterative magnitude pruning (IMP, Frankle et al. 2019): train encoder + linear classifier with
# the supervised recipe of App. E.5 (SGD, momentum 0.9, weight decay 1e-4, lr 0.1 divided by 10 at
# 50% and 75% of training, padded random crop, batch 256), prune the 20% smallest remaining
# conv/linear weights globally, rewind the survivors and retrain; repeat. The lines differ in where
# the survivors are rewound to:
#
# - **θ\*_S, ℓ = 0**: the student distilled from its random teacher (no labels);
# - **θ_S, ℓ = 0**: the student's fresh initialization (next to the teacher, α = 1e-10);
# - **θ_S, ℓ = 1, 2, 5**: epoch ℓ of supervised training from θ_S (weights and optimizer state).
#
# The paper (ResNet18, CIFAR-10, 160 epochs): θ_S with ℓ = 0 loses accuracy at every sparsity,
# while θ\*_S stays as robust as rewinding to epoch 1 or 2: the distilled student already holds
# a lottery ticket. There ℓ = 1, 2, 5 are 0.6–3% of training, long before the first learning-rate
# drop. The `quick` profile uses a small VGG-style net with BN on Fashion-MNIST at 16 × 16 and a
# schedule chosen so that ℓ = 5 still lies before the first drop and every rewound line retrains
# through the high learning rate (a rewind past the drop retrains only the low-lr tail: its
# accuracy would measure the shorter training, not the ticket). It trains without crops (a 1–2 px
# shift is 6–12% of a 16 px image, strong regularization for a schedule this short; the dense runs'
# train and test accuracy below show how well the schedule fits) and without flips (why: below).
# The settings of this run, computed:

# %% tags=["parameters"]
profile = "quick"
seeds = None
rounds = None
epochs = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from rtdlib import data, plotting, stats, sweeps, tidy
from rtdlib.executor import run_all
from rtdlib.profiles import settings
from rtdlib.supervised import lr_at

FOOTWEAR = {5: "sandal", 7: "sneaker", 9: "ankle boot"}  # Fashion-MNIST label -> class

P = settings("06_lottery", profile, seeds=seeds, rounds=rounds, epochs=epochs)
plotting.style()
schedule = sweeps.lottery(P)[0].train
drops = [e for e in range(2, schedule.epochs + 1) if lr_at(schedule, e) < lr_at(schedule, e - 1)]
full_lr = (drops[0] if drops else schedule.epochs + 1) - 1  # epochs the dense run trains at the initial lr
rewinds = sorted({ell for _, ell in P["lines"] if ell > 0})
before_drop = [ell for ell in rewinds if ell < full_lr]  # leaves >= 1 epoch at the initial lr to retrain
augmentation = ", ".join(([f"{P['crop_pad']} px padded crops"] if P["crop_pad"] else [])
                         + (["horizontal flips"] if P["flip"] else [])) or "no crops, no flips"
ds = data.load(schedule.data)
notes = [f"{schedule.epochs} epochs per round on {len(ds.y_train)} images "
         f"(batch {P['batch_size']}), lr {P['lr']} divided by 10 before epochs {', '.join(map(str, drops))}"
         + f"; {P['rounds']} IMP rounds of {P['prune_fraction']:.0%}, down to "
           f"{100 * (1 - P['prune_fraction']) ** P['rounds']:.1f}% of the weights; {augmentation}.",
         f"Rewind points as fractions of training (first lr drop after {full_lr / schedule.epochs:.0%}): " + ", ".join(
             f"ℓ = {ell}: {ell / schedule.epochs:.1%} (retrains {max(full_lr - ell, 0)} of the dense run's {full_lr} "
             f"epochs at the initial lr)" for ell in rewinds) + "."
         + ("" if before_drop == rewinds else
            f" ℓ = {', '.join(str(e) for e in rewinds if e not in before_drop)} lies at or past the first lr drop: "
            "that line retrains only the low-lr tail and is left out of the verdict below.")]
if P["dataset"] == "fashion-mnist" and not P["flip"]:
    # why no flips: footwear faces one way, so mirrored shoes are images the data never shows
    x = ds.x_train.float()[:, 0]
    centroid = (x.sum(1) * torch.arange(x.shape[-1])).sum(1) / x.sum((1, 2))
    side = centroid > (x.shape[-1] - 1) / 2
    right = {name: side[ds.y_train == c].float().mean().item() for c, name in FOOTWEAR.items()}
    notes.append("No flips: the ink centroid of footwear lies on one side of the image centre in this training "
                 "set (" + ", ".join(f"{name}s: {100 * max(f, 1 - f):.0f}% {'right' if f >= 0.5 else 'left'}"
                                     for name, f in right.items())
                 + "), so mirrored shoes would be unlike the data.")
display(Markdown("\n".join(f"- {n}" for n in notes)))
P

# %%
students = run_all("distill", sweeps.students(P))
dense = run_all("supervised", sweeps.lottery_dense(P))
lines = run_all("lottery", sweeps.lottery(P))
df = tidy.frame(lines, "rounds", keys=("train.start", "rewind_epoch", "train.distill.seed"))
df["line"] = np.where(df.start == "student", "θ*_S", "θ_S") + ", ℓ = " + df.rewind_epoch.astype(str)
df["remaining (%)"] = df.remaining * 100
line_names = list(dict.fromkeys(df.line))
colors = dict(zip(line_names, ["#c44e52", "#4c72b0", "#55a868", "#8172b2", "#ccb974", "#64b5cd"]))


def tex(name):  # legend labels in mathtext
    return name.replace("θ*_S", r"$\theta^*_S$").replace("θ_S", r"$\theta_S$").replace("ℓ", r"$\ell$")

# %% [markdown]
# ## Fig. 8: test accuracy vs weights remaining (mean ± sd over seeds)

# %%
curve = stats.mean_sd(df, ["line", "round"], value="test_acc").merge(
    df.groupby(["line", "round"])["remaining (%)"].mean().reset_index())
fig, ax = plt.subplots(figsize=(6, 3.8))
for name in line_names:
    d = curve[curve.line == name]
    ax.errorbar(d["remaining (%)"], d["mean"] * 100, yerr=d.sd * 100, fmt="-o", ms=3, capsize=2,
                color=colors[name], label=tex(name))
ax.set_xscale("log")
ticks = sorted(curve["remaining (%)"].unique(), reverse=True)
ax.set_xticks(ticks, [f"{t:.1f}" for t in ticks], minor=False)
ax.minorticks_off()
ax.invert_xaxis()
ax.set(xlabel="weights remaining (%)", ylabel="test accuracy (%)")
ax.legend(fontsize=8)
fig.suptitle(f"IMP with rewinding, {P['arch'][0]} ({P['arch'][1]} norm), {P['dataset']}, "
             f"{len(P['seeds'])} seeds, {P['epochs']} epochs per round", fontsize=9)
plotting.save(fig, "fig08_lottery", profile)

# %% [markdown]
# ## Test accuracy (%) per round, mean ± sd over seeds

# %%
curve["acc (%)"] = [stats.fmt(m, s) for m, s in zip(curve["mean"], curve.sd)]
table = curve.pivot(index="line", columns="remaining (%)", values="acc (%)").loc[line_names]
table = table[sorted(table.columns, reverse=True)]
table.columns = [f"{c:.1f}%" for c in table.columns]
plotting.save_table(df.drop(columns=["line"]), "fig08_lottery_rounds", profile)
display(table)

# %% [markdown]
# ## Paired comparisons at the sparsest level (over seeds)

# %%
last = df[df["round"] == df["round"].max()].pivot(index="seed", columns="line", values="test_acc")
student_line, init_line = "θ*_S, ℓ = 0", "θ_S, ℓ = 0"
tests = pd.DataFrame([{"comparison": f"{student_line} − {other}", **stats.paired_test(last[student_line], last[other])}
                      for other in line_names if other != student_line])
tests["mean_diff"] *= 100
tests["sd_diff"] *= 100
plotting.save_table(tests, "fig08_lottery_tests", profile)
tests.round(4)

# %%
probe = tidy.frame(students, "probes", keys=("seed",))
probe = probe[(probe.probe == "linear")].groupby("net")["acc"].mean() * 100
remaining = df["remaining (%)"].min()
means = last.mean() * 100
drops = (df[df["round"] == 0].groupby("line")["test_acc"].mean() - last.mean()) * 100
t_init = tests.set_index("comparison").loc[f"{student_line} − {init_line}"]
rewound = [f"θ_S, ℓ = {ell}" for ell in before_drop if f"θ_S, ℓ = {ell}" in means]  # past the drop: not comparable
near = [n for n in rewound if means[student_line] >= means[n] - last[n].std() * 100]
dense_acc = df[df["round"] == 0].groupby("start")[["train_acc", "test_acc"]].mean() * 100
if t_init["mean_diff"] > 1e-9 and t_init["p_t"] < 0.05:
    verdict = "matches the paper: the distilled student tolerates pruning better than its fresh init"
elif t_init["mean_diff"] > 1e-9:
    verdict = "points the paper's way (student more robust than its fresh init) but is not significant"
else:
    verdict = "does **not** match the paper: the distilled student is not more robust to pruning than its fresh init"
sig = "significant" if t_init["p_t"] < 0.05 else "not significant"
display(Markdown(
    f"### What this run found ({profile} profile, {len(P['seeds'])} seeds, {P['rounds']} IMP rounds)\n\n"
    f"- The distilled students reach a linear-probe accuracy of {probe['student']:.1f}% vs "
    f"{probe['teacher']:.1f}% for their random teachers ({probe['student'] - probe['teacher']:+.1f} points; "
    f"the paper's ResNet18 gained about 10 points on CIFAR-10).\n"
    f"- Dense supervised runs (round 0): train / test accuracy {dense_acc.train_acc['init']:.1f}% / "
    f"{dense_acc.test_acc['init']:.1f}% from θ_S, {dense_acc.train_acc['student']:.1f}% / "
    f"{dense_acc.test_acc['student']:.1f}% from θ\\*_S"
    + (": train ≈ test, the schedule does not fit the training set (a caveat for every line)."
       if dense_acc.train_acc.min() - dense_acc.test_acc.max() < 2 else ".") + "\n"
    f"- At {remaining:.1f}% of the weights remaining, test accuracy (mean over seeds): "
    + ", ".join(f"{n}: {means[n]:.1f}% ({-drops[n]:+.1f} vs dense)" for n in line_names) + ".\n"
    f"- θ\\*_S (ℓ = 0) − θ_S (ℓ = 0): {t_init['mean_diff']:+.2f} points (paired t-test p = {t_init['p_t']:.3f}, "
    f"{sig} with n = {int(t_init['n'])}); this {verdict}.\n"
    + (f"- Of the lines rewound before the first lr drop ({', '.join(rewound)}), θ\\*_S (ℓ = 0) is within one sd "
       f"of, or above, {', '.join(near) if near else 'none'}{' (paper: like ℓ = 1 and 2)' if near else ''}.\n"
       if rewound else "- No line rewound to a supervised checkpoint lies before the first lr drop, so θ\\*_S is "
                       "not compared with them.\n")
    + f"- Sparsity reached: the paper's Fig. 8 prunes down to 0.5% of the weights (24 rounds); this run stops at "
    f"{remaining:.1f}% ({P['rounds']} rounds), where "
    + (f"the largest loss of any line against its dense accuracy is {drops.max():.1f} points ({drops.idxmax()})."
       if drops.max() > 0 else "no line has lost accuracy against its dense run.")))
