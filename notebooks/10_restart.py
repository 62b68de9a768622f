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
# **Sizes.** The first round has the settings of the α = 1e-10 runs of the locality notebook, so the
# store shares those entries (the line under the runs counts them); the data, rounds' steps and seeds of
# this run are printed there and in the figure's title, computed from the settings and stored results.

# %% tags=["parameters"]
profile = "quick"
seeds = None
epochs2 = None
precision = None
train_size = None
test_size = None
epochs = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import plotting, stats, summary, sweeps, tidy
from rtdlib.config import config_hash
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("10_restart", profile, seeds=seeds, epochs2=epochs2, precision=precision, train_size=train_size,
             test_size=test_size, epochs=epochs)
plotting.style()
n_seeds = len(P["seeds"])
P

# %%
cfgs = sweeps.restart(P)
rounds = {1: run_all("distill", [c.first for c in cfgs]), 2: run_all("restart", cfgs)}
keys = ("model.arch", "model.norm", "seed")
first_of = {r.hash: r for r in rounds[1]}
assert all(r.metrics["first"] in first_of for r in rounds[2])  # round 2's teacher is the stored round-1 student
locality_runs = {config_hash("distill", c) for c in sweeps.locality(settings("02_locality", profile, precision=precision))}
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
PROBES = [p for p in ("linear", "linear_low") if p in set(probes.probe)]
PROBE_NAMES = {"linear": "linear probe (%)", "linear_low": "linear probe, few labels/class (%)"}
steps = {k: sorted({r.metrics["steps_per_epoch"] * r.config.get("second", r.config)["epochs"] for r in rs})
         for k, rs in rounds.items()}
SETTING = plotting.setting(P["dataset"], steps[1], P["seeds"], P["image_size"])
display(Markdown(f"This run: {SETTING} in round 1 ({P['epochs']} epochs of batch {P['batch_size']} on "
                 f"{P['train_size'] or 'all'} images), {', '.join(f'{s:,}' for s in steps[2])} steps ({P['epochs2']} "
                 f"epochs) in round 2; models: {', '.join(models)}."))

# %% [markdown]
# ## Fig. 18: KL (log scale), distance from initialization and probe accuracy, both rounds
#
# Columns: round 1 and round 2 of each model (the two rounds of a model share each row's y axis, so the
# second round's smaller motion is visible); rows: the metrics, then the full-label linear probe and,
# where the runs have it, the probe fitted on a few labels per class. In round 2 the "teacher" is the
# round-1 student; the dotted line is that teacher with BN statistics re-estimated on the probe images.

# %%
metrics = [("kl", "KL(teacher ‖ student)", True), ("dist_init", "‖θ − θ_init‖", False)]
n_rows = len(metrics) + len(PROBES)
fig, axes = plt.subplots(n_rows, 2 * len(models), figsize=(3.6 * 2 * len(models), 2.9 * n_rows), squeeze=False,
                         sharey="row")
for i, model in enumerate(models):
    for k in (1, 2):
        col = 2 * i + k - 1
        h = history[(history.model == model) & (history["round"] == k)]
        for row, (metric, label, log) in enumerate(metrics):
            ax = axes[row, col]
            d = stats.mean_sd(h, ["epoch"], value=metric)
            plotting.mean_band(ax, d.epoch, d["mean"], d.sd, plotting.COLORS["student"], ms=3, band_alpha=0.2, log=log)
            ax.set(yscale="log" if log else "linear", ylabel=label if col == 0 else None)
        for row, pr in enumerate(PROBES, start=len(metrics)):
            ax = axes[row, col]
            d = probes[(probes.model == model) & (probes["round"] == k) & (probes.probe == pr)]
            for net, g in stats.mean_sd(d, ["net", "epoch"]).groupby("net", sort=False):
                if net == "student_bnrecal":
                    continue
                style = {"teacher": "--", "teacher_bnrecal": ":", "input": "-."}.get(net, "-o")
                label = ("round-1 student as " if k == 2 and net.startswith("teacher") else "") + plotting.LABELS[net]
                plotting.mean_band(ax, g.epoch, g["mean"] * 100, g.sd * 100, plotting.COLORS[net], label, fmt=style,
                                   ms=3, band_alpha=0.15)
            ax.set(ylabel=PROBE_NAMES[pr] if col == 0 else None)
        axes[0, col].set_title(f"{model}: round {k}")
        axes[-1, col].set_xlabel("epoch")
for ax in axes.flat:
    ax.xaxis.get_major_locator().set_params(integer=True)
handles = {}
for col in range(axes.shape[1]):  # one legend for all panels, outside them
    handles |= {lab: h for h, lab in zip(*axes[-1, col].get_legend_handles_labels())}
kl_means = history.groupby(["model", "round", "epoch"])["kl"].mean()
fig.tight_layout()
fig.legend(handles.values(), handles.keys(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(handles),
           fontsize=8)
fig.suptitle(f"Restart: round 1 {SETTING}, round 2 {', '.join(f'{s:,}' for s in steps[2])} steps from the round-1 "
             f"student, α = {P['alpha']:g} (mean ± sd)" + (f"; {(kl_means <= 0).sum()} of {len(kl_means)} KL means ≤ 0 "
             "(float32 CE − H rounding) not drawn on the log scale" if (kl_means <= 0).any() else ""),
             fontsize=11, y=1.02)
plotting.save(fig, "fig18_restart", profile);

# %% [markdown]
# ## Per-round summary, mean ± sd over seeds

# %%
def per_round(model, k):
    h = history[(history.model == model) & (history["round"] == k)]
    last, e2 = h.epoch.max(), P["epochs2"]
    kl = lambda e: h[h.epoch == e].kl.mean()  # noqa: E731
    row = {"model": model, "round": k, "epochs": last, "KL epoch 0": kl(0), "KL epoch 1": kl(1), "KL end": kl(last),
           f"dist from init at epoch {e2}": h[h.epoch == e2].dist_init.mean(),
           "dist from init (end)": h[h.epoch == last].dist_init.mean()}
    for pr in PROBES:
        p = probes[(probes.model == model) & (probes["round"] == k) & (probes.probe == pr) & (probes.epoch == last)]
        acc = lambda net: p[p.net == net].set_index("seed")["acc"]  # noqa: E731
        row[f"teacher {pr} (%)"] = stats.fmt(acc("teacher").mean(), acc("teacher").std())
        row[f"student {pr} (%)"] = stats.fmt(acc("student").mean(), acc("student").std())
    return row


table = pd.DataFrame([per_round(m, k) for m in models for k in (1, 2)])
plotting.save_table(table, "fig18_restart_rounds", profile);
table.round(4)

# %% [markdown]
# ## Paired comparisons over seeds, Holm-corrected together
#
# Per model: the distance from initialization after the round-2 budget of epochs, round 2 as a fraction
# of round 1 (per seed) against 1 (does the second student move less?), and the student against its teacher in each round on each probe
# (does the round-2 student still gain?). Two-sided paired t-tests over seeds (the verdict; the tests were
# added after the first runs were seen, so no one-sided test), Wilcoxon signed-rank tests reported.

# %%
family = stats.Family()
e2 = P["epochs2"]
for m in models:
    dist = history[(history.model == m) & (history.epoch == e2)].pivot_table(index="seed", columns="round",
                                                                             values="dist_init")
    # the round-2 motion as a fraction of the same seed's round-1 motion, against 1 (as far)
    family.add(f"{m} | ‖θ − θ_init‖ at epoch {e2}: round 2 / round 1 − 1", dist[2] / dist[1], np.ones(len(dist)))
    for k in (1, 2):
        for pr in PROBES:
            d = probes[(probes.model == m) & (probes["round"] == k) & (probes.probe == pr)]
            d = d[d.epoch == d.epoch.max()].pivot_table(index="seed", columns="net", values="acc")
            family.add(f"{m} | round {k} | {pr}: student − teacher", d["student"], d["teacher"])
tests = family.table()
tests[["mean_diff", "sd_diff"]] *= 100  # accuracy points; motion rows: % of the round-1 motion
plotting.save_table(tests, "fig18_restart_tests", profile);
tests.round(4)

# %%
def moved(m):
    return family.result(f"{m} | ‖θ − θ_init‖ at epoch {e2}: round 2 / round 1 − 1")


def calmer(m):
    r = moved(m)
    return r["significant"] and r["mean_diff"] < 0


def still_gains(m):
    r = family.result(f"{m} | round 2 | linear: student − teacher")
    return r["significant"] and r["mean_diff"] > 0


def finding(model):
    r1, r2 = (table[(table.model == model) & (table["round"] == k)].iloc[0] for k in (1, 2))
    col = f"dist from init at epoch {e2}"
    probe_text = "; ".join(
        f"round {k}, {pr.replace('_low', ' (few labels)')}: the student "
        + family.says(f"{model} | round {k} | {pr}: student − teacher", "beats its teacher", "is below its teacher")
        for k in (1, 2) for pr in PROBES)
    return (f"- **{model}**: after {e2} epochs the round-2 student has moved {r2[col]:.3f} from its initialization, "
            f"{r2[col] / r1[col]:.0%} of the {r1[col]:.3f} the round-1 student had moved after as many epochs; round 2 "
            + family.says(f"{model} | ‖θ − θ_init‖ at epoch {e2}: round 2 / round 1 − 1", "moves farther",
                          "moves less", unit="% of the round-1 motion, per seed")
            + f". KL at epochs 0 / 1 / end: round 1 {r1['KL epoch 0']:.2e} / {r1['KL epoch 1']:.2e} / "
            f"{r1['KL end']:.2e}; round 2 {r2['KL epoch 0']:.2e} / {r2['KL epoch 1']:.2e} / {r2['KL end']:.2e}. "
            f"Probes: {probe_text}. "
            + ("As in the paper, the second round is significantly calmer." if calmer(model) else
               "This does not show the paper's calmer second round: the round-2 student's motion is not "
               "significantly smaller."))


display(Markdown(f"### What this run found ({profile} profile, {SETTING} in round 1)\n\n"
                 + "\n".join(finding(m) for m in models)))

# %% [markdown]
# ## Claims for the summary
#
# Reproduces: **yes** if for every model the round-2 student moves significantly less from its initialization
# than the round-1 student in as many epochs and does not significantly beat its teacher (the round-1 student)
# on the full-label linear probe (Holm-corrected family above), **partly** if that holds for some model or only
# the smaller motion holds, **no** if no model moves significantly less.

# %%
full = [m for m in models if calmer(m) and not still_gains(m)]
reproduces = "yes" if len(full) == len(models) else "partly" if any(calmer(m) for m in models) else "no"
claims = [summary.claim(
    figure="Fig. 18",
    claim="Restarting distillation with the student as the new teacher: the second round is much more stable, "
          "its optimization \"does not even begin\"",
    paper="ResNet18 and VGG11, CIFAR-10, 100 + 20 epochs: \"The gradient dynamics around the restarted student seem "
          "much more stable, and the optimization procedure does not even begin\" (curves only, no numbers given)",
    ours=f"{SETTING} in round 1, {e2} epochs in round 2: " + "; ".join(
        f"{m}: round-2 motion {table[(table.model == m) & (table['round'] == 2)].iloc[0][f'dist from init at epoch {e2}']:.3f} "
        f"vs {table[(table.model == m) & (table['round'] == 1)].iloc[0][f'dist from init at epoch {e2}']:.3f} in round 1 "
        f"(p_Holm = {moved(m)['p_holm']:.3g}), round-2 student − teacher "
        f"{family.result(f'{m} | round 2 | linear: student − teacher')['mean_diff'] * 100:+.1f} points (linear)"
        for m in models),
    reproduces=reproduces)]
summary.save(claims, "10_restart", profile)
pd.DataFrame(claims)
