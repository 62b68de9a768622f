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
# # Fig. 9: linear mode connectivity from θ_S and from θ\*_S
#
# From one start point we train several supervised runs (App. E.5 recipe) that differ only in the
# order of the data (the same augmentation draws, the same schedule), then measure the test error
# along the straight line θ(γ) = γ θ_i + (1 − γ) θ_j between every pair of solutions. A *barrier*
# (max error on the path minus the mean error of the two end points) near zero means the runs
# ended in one linear basin: SGD was stable from that start.
#
# Start points: **θ_S**, the fresh initialization (next to the random teacher) and **θ\*_S**, the
# student after random-teacher distillation (no labels). The paper (ResNet18, CIFAR-10; 3 students
# × 5 orders): runs from θ\*_S share a basin, runs from θ_S face a clearly larger barrier.
#
# BN: at every interpolated point the BN running statistics are re-estimated on training images
# (interpolated statistics do not describe the interpolated network); the choice is recorded in
# every result (`bn`). The `quick` profile uses a small VGG-style net with BN on Fashion-MNIST at
# 16 × 16 and the Fig. 8 notebook's supervised schedule and augmentation (see there for why); the
# settings of this run follow.

# %% tags=["parameters"]
profile = "quick"
seeds = None
orders = None
epochs = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import data, plotting, stats, sweeps, tidy
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("07_mode_connectivity", profile, seeds=seeds, orders=orders, epochs=epochs)
plotting.style()
train_data = data.load(sweeps.connectivity_runs(P)[0].data)
n_train, n_test = len(train_data.y_train), len(train_data.y_test)
n_recal = min(P["recal_size"] or n_train, n_train)
augmentation = ", ".join(([f"{P['crop_pad']} px padded crops"] if P["crop_pad"] else [])
                         + (["horizontal flips"] if P["flip"] else [])) or "no augmentation"
display(Markdown(
    f"This run: {P['dataset']}, {n_train} training and {n_test} test images, {P['epochs']} epochs of batch "
    f"{P['batch_size']}, {augmentation}; BN statistics {P['bn']}d at each of {P['gammas']} values of γ"
    + (f" on {n_recal} training images ({100 * n_recal / n_train:.0f}% of the training set)."
       if P["bn"] == "recalibrate" else ".")))
P

# %%
students = run_all("distill", sweeps.students(P))
runs = run_all("supervised", sweeps.connectivity_runs(P))
results = run_all("connectivity", sweeps.connectivity(P))
keys = ("train.start", "train.distill.seed", "bn")
curves = tidy.frame(results, "curves", keys=keys)
pairs = tidy.frame(results, "pairs", keys=keys)
START = {"init": "from θ_S (fresh init)", "student": "from θ*_S (distilled student)"}
TITLE = {"init": r"from $\theta_S$ (fresh init)", "student": r"from $\theta^*_S$ (distilled student)"}
COLOR = {"init": "#4c72b0", "student": "#c44e52"}

# %% [markdown]
# ## Fig. 9: test error along the linear path (mean over pairs and starts, band = min–max)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, start in zip(axes, ("init", "student")):
    d = curves[curves.start == start]
    for (seed, pair), p in d.groupby(["seed", "pair"]):
        ax.plot(p.gamma, p.error * 100, color=COLOR[start], alpha=0.25, lw=0.8)
    g = d.groupby("gamma")["error"]
    ax.plot(g.mean().index, g.mean() * 100, color=COLOR[start], lw=2, label="mean over pairs (band: min–max)")
    ax.fill_between(g.mean().index, g.min() * 100, g.max() * 100, color=COLOR[start], alpha=0.15)
    ax.set(title=TITLE[start], xlabel=r"$\gamma$   ($\theta = \gamma\,\theta_i + (1-\gamma)\,\theta_j$)")
    ax.legend(fontsize=8)
axes[0].set_ylabel("test error (%)")
fig.suptitle(f"{P['arch'][0]} ({P['arch'][1]} norm), {P['dataset']}, {len(P['seeds'])} starts × "
             f"{len(P['orders'])} data orders, BN {P['bn']}d at each point", fontsize=9)
plotting.save(fig, "fig09_mode_connectivity", profile)

# %% [markdown]
# ## Barrier heights (percentage points of test error)

# %%
per_start = pairs.groupby(["start", "seed"]).agg(barrier=("barrier", "mean"), end_error=("error_i", "mean")).reset_index()
per_start[["barrier", "end_error"]] *= 100
table = per_start.pivot(index="seed", columns="start", values="barrier").rename(columns=START)
summary = pairs.assign(barrier=pairs.barrier * 100).groupby("start")["barrier"].agg(["mean", "std", "min", "max", "count"])
summary.index = summary.index.map(START)
plotting.save_table(pairs.assign(barrier_pct=pairs.barrier * 100), "fig09_barriers", profile)
display(table.round(2), summary.round(2))

# %% [markdown]
# ## Paired test over starts: does the student start have a lower barrier?
#
# The hypothesis is directional (the paper: lower from θ\*_S), so both tests are one-sided
# (alternative: barrier from θ\*_S − barrier from θ_S < 0).

# %%
b = per_start.pivot(index="seed", columns="start", values="barrier")
test = stats.paired_test(b["student"], b["init"], alternative="less")
p_floor = stats.min_wilcoxon_p(test["n"], "less")
test_table = pd.DataFrame([{"comparison": "barrier from θ*_S − barrier from θ_S (points)", **test,
                            "min_attainable_p_wilcoxon": p_floor}])
plotting.save_table(test_table, "fig09_barrier_test", profile)
test_table.round(4)

# %%
ends = pd.concat([pairs[["start", "error_i"]].rename(columns={"error_i": "e"}),
                  pairs[["start", "error_j"]].rename(columns={"error_j": "e"})]).groupby("start")["e"].mean() * 100
means = b.mean()
if test["mean_diff"] < -1e-9 and test["p_t"] < 0.05:
    verdict = "matches the paper: runs from the distilled student are closer to one linear basin"
elif test["mean_diff"] < -1e-9:
    verdict = "points the paper's way (lower barrier from the student) but is not significant"
else:
    verdict = "does **not** match the paper: the student start does not lower the barrier"
sig = "significant" if test["p_t"] < 0.05 else "not significant"
power = (f"with n = {test['n']} starts the exact one-sided Wilcoxon test cannot give p below "
         f"1/2^{test['n']} = {p_floor:.3f}" + (", so it cannot reach 0.05 at this n whatever the data; "
                                               "only the t-test (which assumes normal differences) can"
                                               if p_floor >= 0.05 else ""))
noise = 100 * np.sqrt(ends.mean() / 100 * (1 - ends.mean() / 100) / n_test)  # binomial sd of one error value
stable = means["init"] < 2 * noise
display(Markdown(
    f"### What this run found ({profile} profile, {len(P['seeds'])} starts × {len(P['orders'])} orders, "
    f"{P['gammas']} values of γ, BN {P['bn']}d)\n\n"
    f"- Mean barrier height: {means['init']:.2f} points of test error from θ_S, {means['student']:.2f} from θ\\*_S "
    f"(end points: {ends['init']:.1f}% and {ends['student']:.1f}% error).\n"
    f"- Student − init, paired over the {test['n']} starts: {test['mean_diff']:+.2f} points "
    f"(one-sided t-test p = {test['p_t']:.3f}, one-sided Wilcoxon p = {test['p_wilcoxon']:.3f}, "
    f"d_z = {test['d_z']:.2f}; {sig}); this {verdict}.\n"
    f"- Power: {power}.\n"
    f"- Largest barrier of any pair: {pairs.barrier.max() * 100:.2f} points "
    f"({'from θ_S' if pairs.loc[pairs.barrier.idxmax(), 'start'] == 'init' else 'from θ*_S'}).\n"
    f"- Noise scale: one error value on {n_test} test images has a binomial sd of about {noise:.1f} points, and a "
    f"barrier (a maximum over {P['gammas']} noisy points) is biased upward by it. "
    + ("The mean barrier from θ_S is below twice that: at this scale runs from the fresh init are already "
       "linearly connected, so this profile cannot show the paper's contrast (there, runs from θ_S faced a "
       "clear barrier)." if stable else
       "The mean barrier from θ_S exceeds twice that: runs from the fresh init are not linearly connected.")))
