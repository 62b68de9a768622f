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
# # Figs. 10, 11, 12: ablating the projector (output dimension, norm layers, l2-bottleneck)
#
# Starting from a reference model (student at locality α = 1e-10 next to its random teacher), each
# study changes one thing and tracks the student's linear probe accuracy over distillation:
#
# - **Fig. 10**, the head's output dimension m from 2^0 up to the profile's maximum (paper: 2^16; it
#   reports a phase transition at the bottleneck dimension m = 256);
# - **Fig. 11**, the encoder's norm layers: batch, instance, group (8 channels per group), layer, none;
# - **Fig. 12**, the parts of the l2-bottleneck (wn1/lin1/fn1 before the bottleneck, wn2/lin2/fn2
#   after it), including the authors' public code, whose linear layers compute the weight
#   normalization but multiply by the raw weight (`authors_code=True`: neither wn1 nor wn2 applies),
#   next to the paper's head. Computing a normalized weight and not using it leaves a plain linear
#   layer, so with the paper's parts that head may be the head without wn2; the notebook checks
#   whether the two build the same function and, if so, trains it once and shows it under both labels.
#
# Changing the head leaves the teacher's encoder bit-identical (it is built first, from the same
# seed), so those variants share the reference run's teacher baselines (the text at the end checks
# that every such run probed the same teacher accuracy); each norm variant has its own
# teacher. With BN, the teacher is also probed after re-estimating its BN statistics on the data
# ("teacher (BN recalibrated)").
#
# **Sizes of the quick profile** (chosen to fit a few minutes of CPU): one small VGG-style net with BN
# (width 16), Fashion-MNIST resized to 16×16, 2,000 training images, 2 epochs of batch 256 (the
# number of steps is printed below), probes on 2,000 train / 1,000 test images at epochs 0, 1, 2,
# 3 seeds; m ∈ {2^0, 2^4, 2^8, 2^12}; the paper's head, the authors' code, the head without fn1 or
# without wn2, and the head with wn1 or fn2 added. The paper trains ResNet18 and
# VGG11 on CIFAR-10 for 100 epochs with m up to 2^16; so short a run need not show the paper's
# trends, and the text at the end says what this run shows.

# %% tags=["parameters"]
profile = "quick"
seeds = None
epochs = None
train_size = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from rtdlib import plotting, stats, sweeps, tidy
from rtdlib.config import config_hash
from rtdlib.executor import run_all
from rtdlib.models.head import Head
from rtdlib.profiles import settings

P = settings("04_ablations", profile, seeds=seeds, epochs=epochs, train_size=train_size)
plotting.style()
P

# %%
variants = sweeps.ablation_variants(P)
by_hash = {r.hash: r for r in run_all("distill", sweeps.ablations(P))}
frames = []
for study, label, cfg in variants:
    df = tidy.frame([by_hash[config_hash("distill", cfg)]], "probes")
    frames.append(df.assign(study=study, variant=label))
probes = pd.concat(frames, ignore_index=True)
probes["model"] = probes["arch"] + " (" + probes["norm"] + ")"
lin = probes[probes.probe == "linear"]
archs = [f"{a} ({n})" for a, n, _ in P["archs"]]
n_seeds = len(P["seeds"])
last = P["epochs"]
steps = sorted({r.metrics["steps_per_epoch"] for r in by_hash.values()})
display(Markdown(f"Each run: {last} epochs × {' or '.join(map(str, steps))} steps of batch {P['batch_size']} "
                 f"({P['train_size'] or 'all'} images, the last partial batch dropped), {len(by_hash)} runs for "
                 f"{len(variants)} (study, variant, seed) cells."))


def students(study):
    return lin[(lin.study == study) & (lin.net == "student")]


ref_parts = P["head_variants"][0][0]
REFERENCE = {"output_dim": str(P["head"]["out_dim"]), "head": ref_parts}  # runs holding the shared baselines


def baselines(study, variant=None):
    """Teacher, BN-recalibrated teacher and input accuracy at the last epoch, by model."""
    variant = variant or REFERENCE[study]
    d = lin[(lin.study == study) & (lin.variant == variant) & (lin.net != "student") & (lin.epoch == last)]
    return stats.mean_sd(d, ["arch", "net"])


def plot_curves(ax, study, colors, names=None):
    curves = stats.mean_sd(students(study), ["variant", "epoch"])
    for (variant, d), c in zip(curves.groupby("variant", sort=False), colors):
        plotting.mean_band(ax, d.epoch, d["mean"] * 100, d.sd * 100, c, (names or {}).get(variant, variant),
                           ms=3, band_alpha=0.15)
    ax.set(xlabel="epoch", ylabel="student linear probe (%)")
    ax.xaxis.get_major_locator().set_params(integer=True)


def reference_lines(ax, base, vertical=False):
    for _, row in base.iterrows():
        plotting.baseline(ax, row["mean"] * 100, row.sd * 100, plotting.COLORS[row.net], "--",
                          f"{plotting.LABELS[row.net]} ({row['mean'] * 100:.1f})", vertical=vertical, lw=1)


title = (f"{', '.join(archs)}; {P['dataset']} {P['train_size'] or 'all'} images; {last} epochs × "
         f"{'/'.join(map(str, steps))} steps; {n_seeds} seeds (mean ± sd)")

# %% [markdown]
# ## Fig. 10: output dimension m

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
ms = P["out_dims"]
plot_curves(a1, "output_dim", plt.cm.viridis(np.linspace(0, 0.95, len(ms))))
a1.legend(title="m", fontsize=7, ncol=2)
final_m = stats.mean_sd(students("output_dim")[lambda d: d.epoch == last], ["variant"])
final_m["m"] = final_m.variant.astype(int)
a2.errorbar(final_m.m, final_m["mean"] * 100, final_m.sd * 100, fmt="-o", ms=4, color=plotting.COLORS["student"],
            capsize=3, label="student")
reference_lines(a2, baselines("output_dim"))
a2.axvline(P["head"]["bottleneck_dim"], color="grey", lw=0.8, ls=":", label="bottleneck dim")
a2.set(xlabel="output dimension m", ylabel=f"linear probe at epoch {last} (%)")
a2.set_xscale("log", base=2)
a2.legend(fontsize=7)
fig.suptitle(title, fontsize=10)
plotting.save(fig, "fig10_output_dim", profile)

# %% [markdown]
# ## Fig. 11: norm layers (each variant has its own teacher)

# %%
norms = P["norms"]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
plot_curves(a1, "norm", plt.cm.tab10(np.arange(len(norms))))
a1.legend(title="norm layer", fontsize=7)
d = lin[(lin.study == "norm") & (lin.epoch == last) & (lin.net != "input")]
final_n = stats.mean_sd(d, ["variant", "net"])
nets = [n for n in ("teacher", "teacher_bnrecal", "student") if n in set(final_n.net)]
x = np.arange(len(norms))
for i, net in enumerate(nets):
    f = final_n[final_n.net == net].set_index("variant").reindex(norms)
    a2.bar(x + (i - (len(nets) - 1) / 2) * 0.27, f["mean"] * 100, 0.27, yerr=f.sd * 100, capsize=2,
           color=plotting.COLORS[net], label=plotting.LABELS[net])
inp = lin[(lin.study == "norm") & (lin.net == "input") & (lin.epoch == last)].groupby("seed")["acc"].mean() * 100
plotting.baseline(a2, inp.mean(), inp.std(), plotting.COLORS["input"], "--", f"input ({inp.mean():.1f})", lw=1)
a2.set_xticks(x, norms)
a2.set(ylabel=f"linear probe at epoch {last} (%)", ylim=(max(0, final_n["mean"].min() * 100 - 10), None))
a2.legend(fontsize=7)
fig.suptitle(title, fontsize=10)
plotting.save(fig, "fig11_norm_layers", profile)

# %% [markdown]
# ## Fig. 12: parts of the l2-bottleneck, and the authors' code next to the paper's head
#
# First, which variants are the same function as the authors' code: every head is built as the
# profile specifies it (parts and `authors_code`, before any simplification) from one seed and
# compared with the authors'-code head by its parameters and its outputs on random inputs. Variants
# that apply the same parts are one training run (the sweep keys a head by the parts it applies),
# drawn under each label.

# %%
labels = [v[0] for v in P["head_variants"]]
spec = {label: (parts, code) for label, parts, code in P["head_variants"]}
authors = [v for v in labels if spec[v][1]]


def built_head(label, z=torch.randn(256, 32, generator=torch.Generator().manual_seed(1))):
    """(parameters, outputs on z) of the head a label specifies, initialized from seed 0."""
    torch.manual_seed(0)
    head = Head(z.shape[1], P["head"]["out_dim"], P["head"]["hidden_dim"], P["head"]["bottleneck_dim"], *spec[label])
    with torch.no_grad():
        return head.state_dict(), head(z)


def same_function(a, b):
    (sa, ya), (sb, yb) = built_head(a), built_head(b)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa) and torch.equal(ya, yb)


head_run = {}  # label -> run hash (first model and seed); labels with one hash were trained once
for study, label, cfg in variants:
    if study == "head":
        head_run.setdefault(label, config_hash("distill", cfg))
twins = {a: [w for w in labels if w != a and same_function(a, w)] for a in authors}
one_run = {v: [w for w in labels if w != v and head_run[w] == head_run[v]] for v in labels}
names = {v: v + (f" (= {', '.join(one_run[v])}: same run)" if one_run[v] else "") for v in labels}
pd.DataFrame({**{f"same function as {a}": [v in twins[a] for v in labels] for a in authors},
              "trained in one run with": [", ".join(one_run[v]) or "-" for v in labels]}, index=labels)

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1.1]})
plot_curves(a1, "head", plt.cm.tab10(np.arange(len(labels))), names)
a1.legend(fontsize=6)
final_h = stats.mean_sd(students("head")[lambda d: d.epoch == last], ["variant"]).set_index("variant").reindex(labels)
y = np.arange(len(labels))[::-1]
a2.barh(y, final_h["mean"] * 100, xerr=final_h.sd * 100, capsize=2, color=plt.cm.tab10(np.arange(len(labels))))
reference_lines(a2, baselines("head"), vertical=True)
a2.set_yticks(y, [names[v].replace(" (= ", "\n(= ") for v in labels], fontsize=7)
a2.set(xlabel=f"student linear probe at epoch {last} (%)", xlim=(max(0, final_h["mean"].min() * 100 - 10), None))
a2.legend(fontsize=7, loc="lower right")
fig.suptitle(title, fontsize=10)
plotting.save(fig, "fig12_bottleneck", profile)

# %% [markdown]
# ## Summary: final accuracy of every variant (%), mean ± sd over seeds

# %%
final = probes[probes.epoch == last]
summary = stats.mean_sd(final, ["model", "study", "variant", "probe", "net"])
summary["acc (%)"] = [stats.fmt(m, s) for m, s in zip(summary["mean"], summary["sd"])]
plotting.save_table(summary, "table_ablations", profile)
summary.pivot_table(index=["model", "study", "variant"], columns=["probe", "net"], values="acc (%)",
                    aggfunc="first", sort=False)

# %%
def pct(study, variant, net="student"):
    """Mean linear probe accuracy (%) at the last epoch; NaN if that net was not probed (no BN)."""
    d = lin[(lin.study == study) & (lin.variant == variant) & (lin.net == net) & (lin.epoch == last)]
    return d["acc"].mean() * 100


m_acc = {m: pct("output_dim", str(m)) for m in ms}
small = [m for m in ms if m < P["head"]["bottleneck_dim"]]
large = [m for m in ms if m >= P["head"]["bottleneck_dim"]]
teacher_ref = pct("output_dim", REFERENCE["output_dim"], "teacher")
lines = [f"### What this run found ({profile} profile, {n_seeds} seeds, {last} epochs)", ""]
if small and large:
    gap = np.mean([m_acc[m] for m in large]) - np.mean([m_acc[m] for m in small])
    lines.append(f"- **Output dimension (Fig. 10).** Student accuracy at epoch {last} is "
                 + ", ".join(f"m={m}: {a:.1f}%" for m, a in m_acc.items())
                 + f" (teacher {teacher_ref:.1f}%). Mean over m ≥ {P['head']['bottleneck_dim']} minus mean over "
                 f"smaller m: {gap:+.1f} points; the paper reports a phase transition at m = 256 "
                 + ("which this run is consistent with." if gap > 2 else "which this run does **not** show clearly."))
norm_rows = []
for n in norms:
    s, t, tr = pct("norm", n), pct("norm", n, "teacher"), pct("norm", n, "teacher_bnrecal")
    norm_rows.append(f"{n}: student {s:.1f}% vs teacher {t:.1f}%" + (f" (BN-recalibrated {tr:.1f}%)" if tr == tr else ""))
wins = sum(pct("norm", n) > pct("norm", n, "teacher") for n in norms)
lines.append(f"- **Norm layers (Fig. 11).** " + "; ".join(norm_rows)
             + f". The student beats its own teacher with {wins} of {len(norms)} norm layers (the paper: the effect "
             "occurs with batch-independent norms too, and without norm layers it converges more slowly).")
h = {v: pct("head", v) for v in labels}


def per_seed(variant):
    """Final student linear-probe accuracy (%) of one head variant, indexed by (model, seed) for pairing."""
    d = lin[(lin.study == "head") & (lin.net == "student") & (lin.variant == variant) & (lin.epoch == last)]
    return d.set_index(["model", "seed"])["acc"] * 100


head_tests = pd.DataFrame([{"variant": v, "same run as": ", ".join(one_run[v]), **stats.paired_test(
    per_seed(ref_parts), per_seed(v).reindex(per_seed(ref_parts).index))} for v in labels if v != ref_parts])
plotting.save_table(head_tests, "table_fig12_head_tests", profile)
significant = head_tests[head_tests.p_t < 0.05]
paper_better = list(significant.variant[significant.mean_diff > 0])
paper_worse = list(significant.variant[significant.mean_diff < 0])
tied = [v for v in head_tests.variant if v not in paper_better + paper_worse]
txt = (f"- **l2-bottleneck (Fig. 12).** " + ", ".join(f"{v}: {a:.1f}%" for v, a in h.items())
       + f". Paired over {len(per_seed(ref_parts))} (model, seed) pairs, the paper's head *{ref_parts}* is "
       + f"significantly better (paired t, p < 0.05) than {', '.join(paper_better) or 'no variant'}, "
       + f"significantly worse than {', '.join(paper_worse) or 'no variant'}, and not distinguishable from "
       + f"{', '.join(tied) or 'no variant'} (table_fig12_head_tests.csv). The paper found its default head the "
       + ("most performant; this run is consistent with that." if not paper_worse and not tied else
          "most performant; this run does **not** show that." if paper_worse else
          "most performant; this run cannot separate it from the variants above at this number of seeds."))
if authors:
    a = authors[0]
    p_a = head_tests.set_index("variant").loc[a, "p_t"]
    txt += (f" The authors' public code (weight normalizations computed but not applied) reaches {h[a]:.1f}% "
            f"vs {h[ref_parts]:.1f}% for the paper's head ({h[a] - h[ref_parts]:+.1f} points, paired t p = {p_a:.2g}). "
            + (f"In this implementation it builds the same head as *{', '.join(twins[a])}* (equal parameters at "
               "initialization, bit-identical outputs on random inputs: a normalized weight that is computed and not "
               "used leaves a plain linear layer), so "
               + (f"both labels are one training run and their bars are the same numbers." if one_run[a] == twins[a] else
                  "their results can differ only by run-to-run nondeterminism (shared runs: "
                  f"{', '.join(one_run[a]) or 'none'}).")
               if twins[a] else "It builds a head different from every other variant of this profile."))
lines.append(txt)
teacher_runs = lin[lin.study.isin(["output_dim", "head"]) & (lin.net == "teacher") & (lin.epoch == last)]
spread = teacher_runs.groupby(["model", "seed"])["acc"].agg(lambda a: a.max() - a.min()).max() * 100
lines.append(f"- **Shared teacher.** Across the {teacher_runs.hash.nunique()} output-dimension and head runs, the "
             f"teacher's linear probe of one (model, seed) differs by at most {spread:.2g} points: "
             + ("the head variants share one teacher, as they should (its encoder is built before the head, from the "
                "same seed)." if spread == 0 else "the teacher baselines are **not** exactly shared across head variants."))
display(Markdown("\n".join(lines)))
