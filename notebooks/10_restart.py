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
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import claims, plotting, stats, sweeps, tidy
from rtdlib.claims import restart as C
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
# ## The paper's claims, judged by the claims engine
#
# Declared once in `rtdlib/claims/restart.py` (the paper's words, direction, margin δ and why) and judged by
# `rtdlib.claims`, one test per model, Holm-corrected within each claim: "the optimization does not even
# begin" as a one-sided margin test (the round-2 distance from initialization after the round-2 epochs, as
# a percentage of the same seed's round-1 distance after as many epochs, below the declared margin), and the
# probe staying put as an equivalence (TOST: the round-2 student − its teacher, the round-1 student, within
# ±δ on the final full-label linear probe).

# %%
e2 = P["epochs2"]
dist = history[history.epoch == e2].pivot_table(index=["model", "seed"], columns="round", values="dist_init")
motion = pd.DataFrame({"round 2": 100 * dist[2] / dist[1],
                       f"{C.MARGIN:g}% of round 1": C.MARGIN}).reset_index()
round2 = probes[(probes["round"] == 2) & (probes.probe == "linear")]
J = claims.Judge("10_restart", P, rounds[1])  # "differs": round 1's steps
rows = [J.evaluate(C.NO_MOTION, motion),
        J.evaluate(C.NO_PROBE_CHANGE, claims.pair(round2[round2.epoch == round2.epoch.max()], "net", "student",
                                                  "teacher", on=("model",)))]
J.save(profile)
tests = J.tests()
plotting.save_table(tests, "fig18_restart_tests", profile);
display(Markdown("\n".join(f"- {claims.sentence(r)}" for r in rows)))
tests.round(4)


# %% [markdown]
# ## What else this run shows (descriptive: no outcome)

# %%
def gain_text(model, k, pr):
    """Final student − teacher of round k on probe pr: mean ± 95% CI half-width over seeds, in points."""
    p = probes[(probes.model == model) & (probes["round"] == k) & (probes.probe == pr)]
    d = claims.pair(p[p.epoch == p.epoch.max()], "net", "student", "teacher")
    mean, half = stats.mean_ci(d.student - d.teacher)
    return f"{mean:+.1f} ± {half:.1f} points"


def finding(model):
    r1, r2 = (table[(table.model == model) & (table["round"] == k)].iloc[0] for k in (1, 2))
    col = f"dist from init at epoch {e2}"
    gains = "; ".join(f"round {k}, {pr.replace('_low', ' (few labels)')}: student − teacher {gain_text(model, k, pr)}"
                      for k in (1, 2) for pr in PROBES)
    return (f"- **{model}**: after {e2} epochs the round-2 student has moved {r2[col]:.3f} from its initialization, "
            f"{r2[col] / r1[col]:.0%} of the {r1[col]:.3f} the round-1 student had moved after as many epochs. "
            f"KL at epochs 0 / 1 / end: round 1 {r1['KL epoch 0']:.2e} / {r1['KL epoch 1']:.2e} / "
            f"{r1['KL end']:.2e}; round 2 {r2['KL epoch 0']:.2e} / {r2['KL epoch 1']:.2e} / {r2['KL end']:.2e}. "
            f"Probes (95% CIs): {gains}.")


display(Markdown(f"### What this run shows ({profile} profile, {SETTING} in round 1)\n\n"
                 + "\n".join(finding(m) for m in models)))
J.table()
