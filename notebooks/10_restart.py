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
# # Fig. 18: restarting, the distilled student becomes the teacher of a second round
#
# After a first round of random-teacher distillation, the student (weights and BN running
# statistics, read from the store) is frozen in eval mode and becomes the teacher of a second round;
# the new student starts next to it (locality α = 1e-10) and is distilled as before. The paper
# (CIFAR-10, ResNet18 and VGG11, 100 + 20 epochs) finds the second round's dynamics "much more
# stable": the optimization "does not even begin", i.e. the second student barely moves and
# its probe accuracy stays at the first student's.
#
# **Sizes.** `quick`: the first round has the settings of the α = 1e-10 runs of the locality
# notebook (Fashion-MNIST at 16×16, 1,024 images, small ResNet-style net with BN and small VGG-style
# net without BN, width 16, m = 1,024, 4 epochs of batch 64), so the store shares the entries (the
# line under the runs counts them); the second round 4 epochs; seeds 0, 1, 2.

# %% tags=["parameters"]
profile = "quick"
seeds = None
epochs2 = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import plotting, stats, sweeps, tidy
from rtdlib.config import config_hash
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("10_restart", profile, seeds=seeds, epochs2=epochs2)
plotting.style()
n_seeds = len(P["seeds"])
P

# %%
cfgs = sweeps.restart(P)
rounds = {1: run_all("distill", [c.first for c in cfgs]), 2: run_all("restart", cfgs)}
keys = ("model.arch", "model.norm", "seed")
first_of = {r.hash: r for r in rounds[1]}
assert all(r.metrics["first"] in first_of for r in rounds[2])  # round 2's teacher is the stored round-1 student
locality_runs = {config_hash("distill", c) for c in sweeps.locality(settings("02_locality", profile))}
display(Markdown(f"Round 1: {sum(h in locality_runs for h in first_of)} of {len(first_of)} runs are entries of this "
                 f"profile's locality sweep (notebook 02), shared through the store."))


def frame(table):
    parts = []
    for k, results in rounds.items():
        # `second`'s settings for round 2 live under config["second"]
        flat = [type(r)(r.kind, r.hash, r.path, r.config.get("second", r.config), r.metrics, r.meta) for r in results]
        parts.append(tidy.frame(flat, table, keys).assign(round=k))
    df = pd.concat(parts, ignore_index=True)
    df["model"] = df["arch"] + " (" + df["norm"].map({"batch": "BN", "none": "no BN"}).fillna(df["norm"]) + ")"
    return df


history, probes = frame("history"), frame("probes")
models = list(dict.fromkeys(history["model"]))

# %% [markdown]
# ## Fig. 18: KL (log scale), distance from initialization and linear probe accuracy, both rounds
#
# Rows: models; columns: round 1 and round 2 of each metric. In round 2 the "teacher" is the
# round-1 student; the dotted line is that teacher with BN statistics re-estimated on the probe images.

# %%
metrics = [("kl", "KL(teacher ‖ student)", True), ("dist_init", "‖θ − θ_init‖", False)]
fig, axes = plt.subplots(len(models), 6, figsize=(22, 3.4 * len(models)), squeeze=False)
for i, model in enumerate(models):
    for j, (col, label, log) in enumerate(metrics):
        for k in (1, 2):
            ax = axes[i, 2 * j + k - 1]
            d = stats.mean_sd(history[(history.model == model) & (history["round"] == k)], ["epoch"], value=col)
            plotting.mean_band(ax, d.epoch, d["mean"], d.sd, plotting.COLORS["student"], ms=3, band_alpha=0.2, log=log)
            ax.set(title=f"{model}: round {k}", xlabel="epoch", ylabel=label, yscale="log" if log else "linear")
    for k in (1, 2):
        ax = axes[i, 4 + k - 1]
        d = probes[(probes.model == model) & (probes["round"] == k) & (probes.probe == "linear")]
        for net, g in stats.mean_sd(d, ["net", "epoch"]).groupby("net", sort=False):
            if net == "student_bnrecal":
                continue
            style = {"teacher": "--", "teacher_bnrecal": ":", "input": "-."}.get(net, "-o")
            label = ("round-1 student as " if k == 2 and net.startswith("teacher") else "") + plotting.LABELS[net]
            plotting.mean_band(ax, g.epoch, g["mean"] * 100, g.sd * 100, plotting.COLORS[net], label, fmt=style, ms=3,
                               band_alpha=0.15)
        ax.set(title=f"{model}: round {k}", xlabel="epoch", ylabel="linear probe accuracy (%)")
        ax.legend(fontsize=6)
for ax in axes.flat:
    ax.xaxis.get_major_locator().set_params(integer=True)
kl_means = history.groupby(["model", "round", "epoch"])["kl"].mean()
fig.suptitle(f"{P['dataset']} ({P['train_size']} images), round 1: {P['epochs']} epochs, round 2: {P['epochs2']} epochs, "
             f"α = {P['alpha']:g}, {n_seeds} seeds (mean ± sd); {(kl_means <= 0).sum()} of {len(kl_means)} KL means ≤ 0 "
             "(float32 CE − H rounding) not drawn on the log scale", fontsize=11)
fig.tight_layout()
plotting.save(fig, "fig18_restart", profile)

# %% [markdown]
# ## Per-round summary, mean ± sd over seeds

# %%
def per_round(model, k):
    h = history[(history.model == model) & (history["round"] == k)]
    p = probes[(probes.model == model) & (probes["round"] == k) & (probes.probe == "linear")]
    last, e2 = h.epoch.max(), P["epochs2"]
    acc = lambda net: p[(p.net == net) & (p.epoch == last)].set_index("seed")["acc"] * 100  # noqa: E731
    kl = lambda e: h[h.epoch == e].kl.mean()  # noqa: E731
    return {"model": model, "round": k, "epochs": last, "KL epoch 0": kl(0), "KL epoch 1": kl(1), "KL end": kl(last),
            f"dist from init at epoch {e2}": h[h.epoch == e2].dist_init.mean(),
            "dist from init (end)": h[h.epoch == last].dist_init.mean(),
            "teacher acc (%)": stats.fmt(acc("teacher").mean() / 100, acc("teacher").std() / 100),
            "student acc (%)": stats.fmt(acc("student").mean() / 100, acc("student").std() / 100),
            "student − teacher (points)": (acc("student") - acc("teacher")).mean()}


summary = pd.DataFrame([per_round(m, k) for m in models for k in (1, 2)])
plotting.save_table(summary, "table_fig18_restart", profile)
summary.round(4)

# %%
def finding(model):
    r1, r2 = (summary[(summary.model == model) & (summary["round"] == k)].iloc[0] for k in (1, 2))
    col = f"dist from init at epoch {P['epochs2']}"
    moved = r2[col] / r1[col]
    return (f"- **{model}**: after {P['epochs2']} epochs the round-2 student has moved {r2[col]:.3f} from its "
            f"initialization, {moved:.0%} of the {r1[col]:.3f} the round-1 student had moved after as many epochs. "
            f"KL at epochs 0 / 1 / end: round 1 {r1['KL epoch 0']:.2e} / {r1['KL epoch 1']:.2e} / {r1['KL end']:.2e}; "
            f"round 2 {r2['KL epoch 0']:.2e} / {r2['KL epoch 1']:.2e} / {r2['KL end']:.2e}. Student − teacher "
            f"(linear probe): round 1 {r1['student − teacher (points)']:+.1f}, round 2 {r2['student − teacher (points)']:+.1f} points. "
            + ("As in the paper, the second round is calmer: its student moves less than half as far."
               if moved < 0.5 else "This does **not** match the paper's picture of a second round in which "
                                   "optimization hardly begins: the round-2 student still moves "
                                   f"{moved:.0%} as far as the round-1 student did in as many epochs."))


display(Markdown(f"### What this run found ({profile} profile, {n_seeds} seeds: {P['seeds']})\n\n"
                 + "\n".join(finding(m) for m in models)))
