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
# # Peer-to-peer consensus among random networks (2026), with the referee's controls
#
# Rodríguez-Betancourt & Casasola-Murillo (2026) train a *group* of randomly initialized networks
# toward each other's outputs, with no projector, predictor, pretext task or augmentation, and report
# gains over a random baseline. Their full text is not available and summaries disagree on the rule,
# so we implement both readings (`rtdlib.peers`) and state the objective exactly below:
#
# - **mean**: each network moves toward the stop-gradient mean of the *other* peers' outputs;
# - **random roles**: every step a seeded random permutation makes ⌊K/2⌋ peers teachers and the rest
#   students; student j learns from teacher j mod ⌊K/2⌋; a teacher is not changed in a step in which it teaches.
#
# Outputs are compared with cross-entropy on softmax outputs of the first paper's DINO-style head
# (**ce**: a projector, which the 2026 paper does not use, so these settings differ from it) or with the
# mean squared error on encoder embeddings, with no head at all (**mse**: no projector, as in the 2026
# paper). Every setting is compared, over the same seeds, with (1) **random-teacher distillation** (the
# referee's control): the same networks, optimizer, data order and batches, but each network distils only
# its own frozen random initialization (the 2023 paper's setting, no peer signal); (2) the **untrained**
# networks, as initialized and with their BN statistics re-estimated on the data (**BN recalibrated**):
# the **random baseline** of the paper's claim, both variants counting; and (3) the **raw input** pixels.

# %% tags=["parameters"]
profile = "quick"
seeds = None
epochs = None
train_size = None
test_size = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import claims, plotting, stats, sweeps, tidy
from rtdlib.claims import peer_consensus as C
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("08_peer_consensus", profile, seeds=seeds, epochs=epochs, train_size=train_size, test_size=test_size)
plotting.style()
P

# %%
cfgs = sweeps.peer_consensus(P)
results = run_all("peers", cfgs)
KEYS = ("k", "rule", "loss", "consensus_weight", "lr", "seed")
probes = tidy.frame(results, "probes", keys=KEYS)
probes["step"] = probes.epoch * results[0].metrics["steps_per_epoch"]  # every run: the same data and batch size
curve = probes[probes.net == "peer"]  # each peer after every probed epoch; the claims use the last one
probes = probes[(probes.net != "peer") | (probes.epoch == probes.epoch.max())]
steps = sorted({r.metrics["steps_per_epoch"] * r.config["epochs"] for r in results})
SETTING = plotting.setting(P["dataset"], steps, P["seeds"], P["image_size"])
PROBES = [p for p in ("linear", "knn", "linear_low", "knn_low") if p in set(probes.probe)]  # few-label probes if run
PROBE_NAMES = {"linear": "linear", "knn": "k-NN", "linear_low": f"linear, {P['probe']['low_label']} labels/class",
               "knn_low": f"k-NN, {P['probe']['low_label']} labels/class"}

# %%
# One row per consensus setting x seed x probe: the group's mean accuracy over its K peers, and the same
# K network indices (same initializations) under random-teacher distillation, untrained, BN recalibrated; plus
# the input.
def label(s):  # a setting with the DINO-style projector (ce) is marked: the 2026 paper uses none
    head = "ce, projector (not the paper's)" if s.loss == "ce" else f"{s.loss}, no projector"
    return f"K={s.k} {s.rule} {head} λ={s.consensus_weight:g} lr={s.lr:g}"

peer = probes[probes.net == "peer"]
ctrl = peer[peer.rule == "none"]
base = probes[probes.net.isin(["init", "init_bnrecal", "input"])]
rows = []
for s in sweeps.peer_settings(P):
    s = pd.Series(s)
    mine = peer[(peer.k == s.k) & (peer.rule == s.rule) & (peer.loss == s.loss)
                & (peer.consensus_weight == s.consensus_weight) & (peer.lr == s.lr)]
    c = ctrl[(ctrl.loss == s.loss) & (ctrl.lr == s.lr) & (ctrl["index"] < s.k)]
    b = base[base["index"] < s.k]
    for (seed, probe), d in mine.groupby(["seed", "probe"]):
        at = lambda frame, net=None: frame[(frame.seed == seed) & (frame.probe == probe)
                                           & ((frame.net == net) if net else True)].acc.mean()
        rows.append({"setting": label(s), **s.to_dict(), "seed": seed, "probe": probe, "consensus": d.acc.mean(),
                     "control": at(c), "init": at(b, "init"), "init_bnrecal": at(b, "init_bnrecal"),
                     "input": base[(base.seed == seed) & (base.probe == probe) & (base.net == "input")].acc.mean()})
per_seed = pd.DataFrame(rows)
ACC = ["consensus", "control", "init", "init_bnrecal", "input"]
per_seed[ACC] = per_seed[ACC].round(6)  # counts / n_test are exact at 6 decimals; float32 noise in equal differences would fake p ≈ 0
plotting.save_table(per_seed, "p2p_consensus_per_seed", profile);
BASELINES = [b for b in ("control", "init", "init_bnrecal", "input") if per_seed[b].notna().any()]
NAMES = {"consensus": "peer consensus", "control": "random-teacher distillation (control)",
         "init": "untrained", "init_bnrecal": "untrained, BN recalibrated", "input": "raw input"}
COLORS = {"consensus": "#c44e52", "control": "#4c72b0", "init": "#555555", "init_bnrecal": "#8fa9d6",
          "input": "#999999"}

# %% [markdown]
# ## Accuracy vs group size K (mean and 95% CI over seeds)
# K = 1 is random-teacher distillation alone (a group of one has no peers), with the untrained network of the
# same index. That control and the random baselines at K average the same K network indices, hence the same
# initializations, as the group they are compared with; the raw input is one band across all K.

# %%
def ci_frame(df, by, value):
    out = [dict(zip(by, key if isinstance(key, tuple) else (key,)), **dict(zip(("mean", "ci"), stats.mean_ci(d[value]))))
           for key, d in df.groupby(by, sort=True)]
    return pd.DataFrame(out)

b = P["base"]
k_sweep = per_seed[(per_seed.consensus_weight == b["consensus_weight"]) & (per_seed.lr == b["lr"])]
panels = [(r, loss) for (r, loss), d in k_sweep.groupby(["rule", "loss"], sort=False) if d.k.nunique() > 1]
fig, axes = plt.subplots(len(PROBES), len(panels), figsize=(4.2 * len(panels), 3.1 * len(PROBES)),
                         sharex=True, squeeze=False)
for col, (rule, loss) in enumerate(panels):
    d = k_sweep[(k_sweep.rule == rule) & (k_sweep.loss == loss)]
    ks = [1, *sorted(d.k.unique())]
    for row, probe in enumerate(PROBES):
        ax = axes[row][col]
        dp = d[d.probe == probe]
        single = {"control": ctrl[(ctrl.loss == loss) & (ctrl.lr == b["lr"])], "init": base[base.net == "init"],
                  "init_bnrecal": base[base.net == "init_bnrecal"]}  # K = 1: network 0 alone
        for j, what in enumerate(["consensus", *BASELINES]):
            if what == "input":  # the same pixels at every K: a band across the whole axis
                m, h = stats.mean_ci(dp.drop_duplicates("seed")["input"])
                plotting.baseline(ax, m * 100, h * 100, COLORS[what], ls="-.", label=NAMES[what])
                continue
            c = ci_frame(dp, ["k"], what)
            one = single.get(what)
            if one is not None:
                one = one[(one["index"] == 0) & (one.probe == probe)]
                if len(one):
                    m1, h1 = stats.mean_ci(one.acc)
                    c = pd.concat([pd.DataFrame([{"k": 1, "mean": m1, "ci": h1}]), c])
            ax.errorbar(c.k * (1 + 0.03 * (j - 2)), c["mean"] * 100, yerr=c.ci * 100, fmt="-o", ms=3, capsize=2,
                        color=COLORS[what], label=NAMES[what])
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set(title=f"{rule}, {loss}" if row == 0 else None, xlabel="group size K" if row == len(PROBES) - 1 else None)
        if col == 0:
            ax.set_ylabel(f"{PROBE_NAMES[probe]} accuracy (%)")
handles, names = axes[0][0].get_legend_handles_labels()  # outside the panels: inside it hid points
fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(names), fontsize=7)
fig.suptitle(f"Peer consensus vs group size: {SETTING} ({P['train_size'] or 'all'} train images), "
             f"{P['model']['arch']} width {P['model']['width']}, λ = {b['consensus_weight']:g}, lr = {b['lr']:g}",
             fontsize=10)
fig.tight_layout()
plotting.save(fig, "p2p_consensus_vs_k", profile);

# %% [markdown]
# ## Probe accuracy vs optimizer steps: has training run long enough?
# Every peer is also probed after the profile's `probe_epochs`; each line is the mean over seeds of the
# group's mean accuracy, for the base loss, consensus weight and learning rate, every rule and K, and the
# random-teacher distillation control (as many networks as the largest group). Step 0: the untrained networks
# of the base control (the initializations every group starts from). The dotted vertical line of a panel marks
# the step from which every line is flat (`stats.flat_from`): from there on, every window of `FLAT_K` consecutive
# probe steps has a per-seed slope against log2(step) whose 95% CI lies inside ±`FLAT_EPS` points per doubling,
# and the line's mean stays above the untrained networks' (its baseline).

# %%
FLAT_EPS, FLAT_K = 0.5, 3  # points per doubling of steps: a line gaining less than half a point per doubling is flat
on_base = curve[(curve.loss == b["loss"]) & (curve.lr == b["lr"])
                & ((curve.consensus_weight == b["consensus_weight"]) | (curve.rule == "none"))]
group_mean = on_base.groupby(["rule", "k", "seed", "probe", "step"]).acc.mean().reset_index()
untrained = base[base.net == "init"].groupby(["seed", "probe"]).acc.mean().reset_index().assign(step=0)
lines, rule_of = {}, {}
for (rule, k), d in group_mean.groupby(["rule", "k"]):
    name = "random-teacher distillation" if rule == "none" else f"{rule}, K = {k}"
    lines[name] = pd.concat([untrained, d]) if len(untrained) else d
    rule_of[name] = rule
fig, axes = plt.subplots(1, len(PROBES), figsize=(4.6 * len(PROBES), 3.3), squeeze=False)
flat = {}
for ax, probe in zip(axes[0], PROBES):
    for j, (name, d) in enumerate(lines.items()):
        m = d[d.probe == probe].groupby("step").acc.mean() * 100
        seed_curve = d[d.probe == probe].assign(value=lambda x: x.acc * 100)
        start = untrained[untrained.probe == probe].acc.mean() * 100 if len(untrained) else None
        flat[name, probe] = (stats.flat_from(seed_curve, FLAT_EPS, FLAT_K, baseline=start), int(m.index.max()))
        control = rule_of[name] == "none"
        ax.plot(m.index, m.values, "o--" if control else "o-", ms=3, lw=1.2, label=name,
                color="k" if control else plt.get_cmap("tab10")(j))
    ats = [flat[name, probe][0] for name in lines]
    if None not in ats:
        at = max(ats)
        ax.axvline(at, color="grey", ls=":", lw=1)
    ticks = sorted({0, *curve.step.unique()})
    ax.set_xscale("symlog", linthresh=max(1, ticks[1]))  # linear up to the first probe, then log: step 0 shows
    ax.set_xticks(ticks, [f"{t:,}" for t in ticks], fontsize=7)
    ax.minorticks_off()
    ax.set(title=PROBE_NAMES[probe], xlabel="optimizer steps", ylabel="accuracy (%)")
handles, names = axes[0][0].get_legend_handles_labels()
fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(4, len(names)), fontsize=7)
fig.suptitle(f"Peer consensus: probes during training, {SETTING} (mean over seeds), λ = {b['consensus_weight']:g}, "
             f"lr = {b['lr']:g}", fontsize=10)
fig.tight_layout()
plotting.save(fig, "p2p_consensus_curves", profile);


def flat_line(name, probe):
    at, end = flat[name, probe]
    return f"from step {at:,}" if at is not None else f"**not** by the last probe (step {end:,})"


display(Markdown(f"Where each curve is flat (from there on, the 95% CI of its slope over every {FLAT_K} consecutive "
                 f"probe steps lies within ±{FLAT_EPS:g} points per doubling of steps, above the untrained "
                 "networks):\n\n" + "\n".join(
                     f"- {PROBE_NAMES[p]}: " + "; ".join(f"{name} {flat_line(name, p)}" for name in lines)
                     for p in PROBES)))

# %% [markdown]
# ## Every setting minus each baseline, paired over seeds (mean and 95% CI)

# %%
diffs = pd.concat([per_seed.assign(baseline=bl, diff=(per_seed.consensus - per_seed[bl]) * 100) for bl in BASELINES])
labels = list(dict.fromkeys(per_seed.setting))
n_cols = min(2, len(PROBES))  # a grid, not one long row, when the few-label probes are there too
n_rows = -(-len(PROBES) // n_cols)
fig, axes = plt.subplots(n_rows, n_cols, figsize=(6.5 * n_cols, (0.45 * len(labels) + 1.5) * n_rows), sharey=True,
                         squeeze=False)
for ax, probe in zip(axes.flat, PROBES):
    for j, bl in enumerate(BASELINES):
        c = ci_frame(diffs[(diffs.probe == probe) & (diffs.baseline == bl)], ["setting"], "diff").set_index("setting").loc[labels]
        y = np.arange(len(labels)) + 0.15 * (j - (len(BASELINES) - 1) / 2)
        ax.errorbar(c["mean"], y, xerr=c.ci, fmt="o", ms=3, capsize=2, color=COLORS[bl], label=f"− {NAMES[bl]}")
    ax.axvline(0, color="k", lw=0.8)
    ax.set(title=PROBE_NAMES[probe], xlabel="consensus − baseline (accuracy points)", yticks=range(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
axes[0][0].invert_yaxis()  # once: the panels share the y axis, so a second call would undo it
handles, names = axes[0][0].get_legend_handles_labels()  # below the panels: inside it hid points
fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(names), fontsize=7)
fig.suptitle(f"Peer consensus minus each baseline: {SETTING}", fontsize=10)
fig.tight_layout()
plotting.save(fig, "p2p_consensus_differences", profile);

# %% [markdown]
# ## The paper's claim, judged by the claims engine
#
# Declared once in `rtdlib/claims/peer_consensus.py` (the paper's words, direction, margin δ and why) and
# judged by `rtdlib.claims` at one setting fixed before the runs, the profile's `base` (K, rule, consensus
# weight, lr): with the head-free **mse** loss (no projector, the paper's setting) and, marked as differing
# from the paper, with the **ce** loss on the DINO-style projector. Each claim's family is its four tests:
# the linear and k-NN probes, each against the same untrained networks as initialized and BN recalibrated
# (one-sided paired t-tests over seeds, Holm within the claim). Beating random-teacher distillation is not
# the paper's claim: it is shown below with 95% CIs, with every other setting.

# %%
def claim_data(loss):
    """The base setting with `loss`, against each random baseline: one row per seed, probe and baseline."""
    base_setting = P["base"]
    at = per_seed[(per_seed.k == base_setting["k"]) & (per_seed.rule == base_setting["rule"]) & (per_seed.loss == loss)
                  & (per_seed.consensus_weight == base_setting["consensus_weight"]) & (per_seed.lr == base_setting["lr"])
                  & per_seed.probe.isin(C.PROBES)]
    return pd.concat([at.assign(**{"random baseline": name, "random network": 100 * at[net],
                                   "peer consensus": 100 * at.consensus})
                      for net, name in C.BASELINES.items()], ignore_index=True)


J = claims.Judge("08_peer_consensus", P, results)
rows = [J.evaluate(c, claim_data(C.LOSS[c]), C.DIFFERS[c]) for c in C.CLAIMS]
J.save(profile)
tests = J.tests()
plotting.save_table(tests, "p2p_consensus_tests", profile);
display(Markdown("\n".join(f"- {claims.sentence(r)}" for r in rows)))
tests.round(4)

# %% [markdown]
# ## Every setting against every baseline (descriptive: mean difference and 95% CI over seeds, no outcome)
#
# Random-teacher distillation is also set against the untrained networks (its networks 0..k-1, paired over
# seeds): where it ends below them, a setting's gain over it can reflect that control's degradation rather
# than learning by consensus.

# %%
def ci_row(d, **keys):
    mean, half = stats.mean_ci(d)
    return {**keys, "n": len(d), "mean difference (points)": mean, "95% CI half-width": half}


RANDOM = [b for b in ("init", "init_bnrecal") if b in BASELINES]
described = [ci_row(100 * (d.consensus - d[bl]), setting=setting, probe=probe, baseline=NAMES[bl])
             for (setting, probe), d in per_seed.groupby(["setting", "probe"], sort=False) for bl in BASELINES]
for (loss, lr), c in ctrl.groupby(["loss", "lr"]):
    for probe in PROBES:
        cp = c[c.probe == probe]
        for bl in RANDOM:
            u = base[(base.net == bl) & (base.probe == probe) & base["index"].isin(cp["index"])]
            a, r = cp.groupby("seed").acc.mean().round(6), u.groupby("seed").acc.mean().round(6)  # as per_seed
            described.append(ci_row(100 * (a - r.loc[a.index]), setting=f"random-teacher distillation {loss} "
                                    f"lr={lr:g} ({cp['index'].nunique()} networks)", probe=probe, baseline=NAMES[bl]))
described = pd.DataFrame(described)
plotting.save_table(described, "p2p_consensus_vs_baselines", profile);
described.round(3)

# %% [markdown]
# ## Answers to the referee
#
# **3. The objective.** Network $i$ of a group of $K$ (initialized from seed $1000s + i$ for group seed
# $s$), with outputs $f_i(x)$, is trained on each batch $x$ with AdamW on
#
# $$L_i = m_i \Big[\lambda\, D\big(f_i(x),\ \mathrm{sg}[T_i(x)]\big) + (1-\lambda)\, D\big(f_i(x),\ \mathrm{sg}[f_i^{0}(x)]\big)\Big]$$
#
# where $\mathrm{sg}$ is stop-gradient, $\lambda$ the consensus weight and $f_i^0$ the frozen initialization
# of network $i$ in eval mode. For **ce**, $f$ is the DINO-style head on the encoder and
# $D(z, t) = -\sum_c t_c \log \mathrm{softmax}(z)_c$ with $t$ a probability vector ($\tau = 1$); for
# **mse**, $f$ is the encoder embedding (no head) and $D(z, t) = \frac1d\lVert z - t\rVert^2$.
# The **mean** rule uses $T_i = \frac{1}{K-1}\sum_{j\ne i} \mathrm{softmax}(f_j)$ for ce (probabilities,
# not logits, are averaged: the loss is then linear in the target and equals the mean of the $K-1$
# pairwise distillation losses) and $T_i = \frac{1}{K-1}\sum_{j\ne i} f_j$ for mse, with $m_i = 1$. The
# **random roles** rule draws a permutation $\pi$ each step (seeded); $\pi_1..\pi_{\lfloor K/2\rfloor}$ are
# teachers ($m = 0$), student $\pi_{\lfloor K/2\rfloor + j}$ ($m = 1$) gets $T = f_{\pi_{j \bmod \lfloor K/2\rfloor}}$.
# A teacher does not change in a step in which it teaches: its parameters, BN running statistics and
# AdamW moments (`exp_avg`, `exp_avg_sq`) are restored after the step, so neither momentum nor weight decay moves
# it, and its moments neither decay nor accumulate while it teaches. AdamW's step counter $t$, which
# sets the bias correction $1-\beta^t$, is one per parameter tensor and counts every step of the group,
# teaching steps included (on the batched path one stacked tensor holds all $K$ networks; the loop path
# does the same so that both compute the same step): a network that was a student in $s$ of $t$ steps
# has moments accumulated over $s$ updates but bias-corrected for $t$. For the mean rule and the control
# $m_i = 1$. Peer targets come from the same train-mode forward pass (BN batch statistics) as the predictions.
#
# **1. The control: random-teacher distillation.** $\lambda = 0$: the same networks with the same initializations, optimizer,
# learning rate, data order and batches, each distilling only its own frozen initialization (the
# random-teacher setting of Sarnthein et al. 2023 with locality $\alpha = 0$). As in that paper the
# teacher $f_i^0$ is frozen in eval mode with its initial BN statistics (running mean 0, variance 1), so
# its BN layers are the identity (up to BN's eps) and it is the *un-normalized* random network, while the
# student in train mode normalizes with batch statistics: they differ even at identical weights, which is
# what the student learns from. With mse the student is pulled toward that un-normalized network's raw
# embedding, whose scale is set by the unnormalized activations rather than by batch statistics; the
# ce head instead compares softmax outputs. This is the faithful random-teacher control, not one tuned
# to do well, and whether it ends below the untrained networks is measured below. It is run once per (loss, learning
# rate) for as many networks as the largest group it is compared with; a group of $K$ is compared with
# the control's networks $0..K-1$.

# %%
n_runs = len(cfgs)
n_nets = sum(c.k for c in cfgs)
display(Markdown(
    f"**2. Seeds and tests.** {len(P['seeds'])} seeds per setting (group seeds {P['seeds']}); each seed fixes the "
    f"initializations, the data order and the role draws, shared by a setting and its baselines, so every "
    f"comparison is paired over seeds. The unit is the group's mean accuracy over its K peers. Error bars are "
    f"95% t confidence intervals. The paper's claim is judged by one-sided paired t-tests at the base setting, "
    f"Holm-corrected over its {len(tests) // len(C.CLAIMS)} tests per claim (the engine's table lists each with its "
    f"minimum detectable effect; the exact Wilcoxon p, shown where it can go below 0.05, does not decide); every "
    f"other comparison is a mean difference with its 95% CI, not a test. "
    f"This run: {n_runs} training runs, {n_nets} trained networks.\n\n"
    f"**4. Data and protocol.** Training and probing on {P['dataset']} ({P['train_size'] or 'all'} train, "
    f"{P['test_size'] or 'all'} test images{', resized to ' + str(P['image_size']) + ' px' if P['image_size'] else ''}), "
    f"no augmentation, no labels in training. Network: {P['model']['arch']} (norm {P['model']['norm']}, width "
    f"{P['model']['width']}); ce head out dimension {P['model']['out_dim']}. {P['epochs']} epochs of batch "
    f"{P['batch_size']} ({' or '.join(f'{n:,}' for n in steps)} steps). Probes on encoder features after training (and after epochs "
    f"{', '.join(map(str, P['probe_epochs'])) or 'none'} for the curves), every network of a group "
    f"probed separately: a linear probe (multinomial logistic regression, L-BFGS, "
    f"{P['probe']['linear_steps']} iterations, L2 1e-4, on standardized features) and k-NN (k = 20, Euclidean, "
    f"majority vote), both fitted on the train split and scored on the test split"
    + (f"; both again fitted on {P['probe']['low_label']} labels per class of the train split"
       if P["probe"]["low_label"] else "") + ".\n\n"
    f"Settings in this profile (`{P['design']}` design): " + "; ".join(labels) + "."))

# %%
acc = per_seed.groupby("probe")[["consensus", *BASELINES]].mean() * 100
display(Markdown(
    f"### What this run shows ({profile} profile, {SETTING})\n\n"
    + "\n".join(f"- {claims.sentence(r)} *Differs from the paper:* {r['differs']}." for r in rows) + "\n\n"
    + "Mean accuracy over all settings (%): " + "; ".join(
        f"{PROBE_NAMES[p]}: " + ", ".join(f"{NAMES[c]} {acc.loc[p, c]:.1f}" for c in acc.columns) for p in PROBES)
    + ". Every setting's difference from every baseline, with its 95% CI, is in the table and figure above."))
J.table()
