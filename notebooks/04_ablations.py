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
# **Sizes.** The line under the parameters gives this run's network, dataset, steps, variants and
# seeds; the paper trains ResNet18 and VGG11 on CIFAR-10 for 100 epochs with m up to 2^16. Short runs
# need not show the paper's trends; the claims section says what this run shows, judged by the claims engine.

# %% tags=["parameters"]
profile = "quick"
seeds = None
epochs = None
train_size = None
precision = None
test_size = None
out_dims = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from rtdlib import claims, plotting, stats, sweeps, tidy
from rtdlib.claims import ablations as C
from rtdlib.config import config_hash
from rtdlib.executor import run_all
from rtdlib.models.head import Head
from rtdlib.profiles import settings

P = settings("04_ablations", profile, seeds=seeds, epochs=epochs, train_size=train_size, precision=precision,
             test_size=test_size, out_dims=out_dims)
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
setting = plotting.setting(P["dataset"], [tidy.steps(r) for r in by_hash.values()], P["seeds"], P["image_size"])
display(Markdown(f"This run: {', '.join(archs)}; {setting}; {P['train_size'] or 'all'} training images, batch "
                 f"{P['batch_size']}; m ∈ {{{', '.join(map(str, P['out_dims']))}}}; norms {', '.join(P['norms'])}; "
                 f"{len(P['head_variants'])} head variants; {len(by_hash)} runs for {len(variants)} (study, variant, "
                 "seed) cells."))


def students(study):
    return lin[(lin.study == study) & (lin.net == "student")]


ref_parts = P["head_variants"][0][0]
REFERENCE = {"output_dim": str(P["head"]["out_dim"]), "head": ref_parts}  # runs holding the shared baselines


def baselines(study, variant=None):
    """Teacher, BN-recalibrated teacher and input accuracy at the last epoch, by model."""
    variant = variant or REFERENCE[study]
    d = lin[(lin.study == study) & (lin.variant == variant) & (lin.net != "student") & (lin.epoch == last)]
    return stats.mean_sd(d, ["arch", "net"])


def plot_curves(ax, study, colors, names=None, drop=()):
    curves = stats.mean_sd(students(study)[lambda d: ~d.variant.isin(drop)], ["variant", "step"])
    for (variant, d), c in zip(curves.groupby("variant", sort=False), colors):
        plotting.mean_band(ax, d.step, d["mean"] * 100, d.sd * 100, c, (names or {}).get(variant, variant),
                           ms=3, band_alpha=0.15)
    ax.set(xlabel="optimizer steps", ylabel="student linear probe (%)")


def reference_lines(ax, base, vertical=False):
    for _, row in base.iterrows():
        plotting.baseline(ax, row["mean"] * 100, row.sd * 100, plotting.COLORS[row.net], "--",
                          f"{plotting.LABELS[row.net]} ({row['mean'] * 100:.1f})", vertical=vertical, lw=1)


title = f"{', '.join(archs)}; {setting} (mean ± sd)"
OUTSIDE = dict(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # legends beside the axes, never on data

# %% [markdown]
# ## Fig. 10: output dimension m
#
# m = 1 is run (the profiles keep it) but not drawn or tested: with one output the softmax is the constant
# 1, so the distillation loss and its gradient are zero and the student never moves from its initialization.

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 3.8))
ms = [m for m in P["out_dims"] if m > 1]
plot_curves(a1, "output_dim", plt.cm.viridis(np.linspace(0, 0.95, len(ms))), drop=("1",))
a1.legend(title="m", ncol=2, **OUTSIDE)
final_m = stats.mean_sd(students("output_dim")[lambda d: (d.epoch == last) & (d.variant != "1")], ["variant"])
final_m["m"] = final_m.variant.astype(int)
a2.errorbar(final_m.m, final_m["mean"] * 100, final_m.sd * 100, fmt="-o", ms=4, color=plotting.COLORS["student"],
            capsize=3, label="student")
reference_lines(a2, baselines("output_dim"))
a2.axvline(P["head"]["bottleneck_dim"], color="grey", lw=0.8, ls=":", label="bottleneck dim (m ≥ it: the upper side)")
a2.set(xlabel="output dimension m", ylabel=f"linear probe at epoch {last} (%)")
a2.set_xscale("log", base=2)
a2.legend(**OUTSIDE)
fig.suptitle(f"output dimension m varies; {title}", fontsize=10)
fig.tight_layout()
plotting.save(fig, "fig10_output_dim", profile);

# %% [markdown]
# ## Fig. 11: norm layers (each variant has its own teacher)

# %%
norms = P["norms"]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 3.8))
plot_curves(a1, "norm", plt.cm.tab10(np.arange(len(norms))))
a1.legend(title="norm layer", **OUTSIDE)
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
a2.set(xlabel="norm layer of the encoder (teacher and student)", ylabel=f"linear probe at epoch {last} (%, axis from 0)",
       ylim=(0, None))
a2.legend(**OUTSIDE)
arch_names = ", ".join(dict.fromkeys(a for a, _, _ in P["archs"]))
fig.suptitle(f"norm layer varies ({', '.join(norms)}); {arch_names}; {setting} (mean ± sd)", fontsize=10)
fig.tight_layout()
plotting.save(fig, "fig11_norm_layers", profile);

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
fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 4.2), gridspec_kw={"width_ratios": [1, 1.1]})
plot_curves(a1, "head", plt.cm.tab10(np.arange(len(labels))), names)
final_h = stats.mean_sd(students("head")[lambda d: d.epoch == last], ["variant"]).set_index("variant").reindex(labels)
y = np.arange(len(labels))[::-1]
a2.barh(y, final_h["mean"] * 100, xerr=final_h.sd * 100, capsize=2, color=plt.cm.tab10(np.arange(len(labels))))
reference_lines(a2, baselines("head"), vertical=True)
a2.set_yticks(y, [names[v].replace(" (= ", "\n(= ") for v in labels], fontsize=7)
a2.set(xlabel=f"student linear probe at epoch {last} (%, axis from 0)", xlim=(0, None))
a2.legend(**OUTSIDE)
fig.suptitle(f"l2-bottleneck parts vary (colours as in the bars); {title}", fontsize=10)
fig.tight_layout()
plotting.save(fig, "fig12_bottleneck", profile);

# %% [markdown]
# ## Summary: final accuracy of every variant (%), mean ± sd over seeds

# %%
final = probes[probes.epoch == last]
summary = stats.mean_sd(final, ["model", "study", "variant", "probe", "net"])
summary["acc (%)"] = [stats.fmt(m, s) for m, s in zip(summary["mean"], summary["sd"])]
plotting.save_table(summary, "fig10_12_ablations_final", profile);
summary.pivot_table(index=["model", "study", "variant"], columns=["probe", "net"], values="acc (%)",
                    aggfunc="first", sort=False)

# %% [markdown]
# ## The paper's claims, judged by the claims engine
#
# Each claim is declared once in `rtdlib/claims/ablations.py` (the paper's words, the arms, the direction,
# the margin δ and why) and judged by `rtdlib.claims` on the final linear probe per (model, seed),
# one-sided in the paper's direction, Holm-corrected within each claim's own tests only:
#
# - **Fig. 10**: a step at the bottleneck, per seed the mean over m at or above it minus the mean over m
#   below it, with at least 3 values of m on each side. **m = 1 is left out** (and not drawn): with one
#   output the softmax is the constant 1, so the loss and its gradient are zero and the student never moves
#   from its initialization; its probe is its teacher's, not the effect of a small head.
# - **Fig. 11**: student above its own teacher per norm layer. Instance norm is its own claim: at the quick
#   profile's 16×16 inputs the small VGG's last feature maps are 2×2, instance norm standardizes each channel
#   over 4 values and cripples the teacher, so that row is reported as *not shown at this scale* (the
#   reason is in its row). Rebuilding the study on a net whose maps survive instance norm would retrain every
#   norm variant; saying so costs nothing and keeps the other four rows as they are.
# - **Fig. 12**: the paper's head above each other head that is its own run, all in one family.

# %%
def seed_acc(study, variant, net="student", probe="linear"):
    """Final accuracy (points) per (model, seed) of one cell, for pairing."""
    d = probes[(probes.study == study) & (probes.variant == variant) & (probes.net == net) & (probes.probe == probe)
               & (probes.epoch == last)]
    return d.set_index(["model", "seed"])["acc"] * 100


J = claims.Judge("04_ablations", P, list(by_hash.values()))
below, above = C.m_sides(P)
side_mean = {name: pd.concat([seed_acc("output_dim", str(m)) for m in side], axis=1).mean(axis=1) if side else None
             for name, side in zip(C.FIG10_STEP.arms[::-1], (below, above))}
J.evaluate(C.FIG10_STEP, pd.DataFrame(side_mean).reset_index() if below and above else pd.DataFrame())
norm_final = lin[(lin.study == "norm") & (lin.epoch == last)]
for c, chosen in ((C.FIG11_NORMS, [n for n in norms if n != C.INSTANCE]), (C.FIG11_INSTANCE, [C.INSTANCE])):
    rows = norm_final[norm_final.variant.isin(chosen)]  # none: the claim says why it is not shown
    J.evaluate(c, claims.pair(rows, "net", *c.arms, on=("arch", "norm")) if len(rows) else rows)
same_as_ref = set(one_run[ref_parts])
others = [v for v in labels if v != ref_parts and v not in same_as_ref]
paper_head = seed_acc("head", ref_parts)
J.evaluate(C.FIG12_HEAD, pd.concat([pd.DataFrame({C.FIG12_HEAD.arms[0]: paper_head,
                                                  C.FIG12_HEAD.arms[1]: seed_acc("head", v).reindex(paper_head.index)})
                                    .reset_index().assign(head=v) for v in others], ignore_index=True))
tests = J.tests()
plotting.save_table(tests, "stats_04_ablations", profile)
J.save(profile)
display(Markdown("\n".join(f"- {claims.sentence(r)}" for r in J.rows)))
tests.round(4)

# %% [markdown]
# ## What else this run shows (descriptive: no outcome)

# %%
def pct(study, variant, net="student"):
    """Mean linear probe accuracy (%) at the last epoch; NaN if that net was not probed (no BN)."""
    d = lin[(lin.study == study) & (lin.variant == variant) & (lin.net == net) & (lin.epoch == last)]
    return d["acc"].mean() * 100


lines = [f"### What this run shows ({profile} profile: {setting})", "",
         f"- **Output dimension (Fig. 10).** Student accuracy at epoch {last}: "
         + ", ".join(f"m={m}: {pct('output_dim', str(m)):.1f}%" for m in ms)
         + f" (teacher {pct('output_dim', REFERENCE['output_dim'], 'teacher'):.1f}%)."]
lines.append("- **Norm layers (Fig. 11).** " + "; ".join(
    f"{n}: student {pct('norm', n):.1f}% vs teacher {pct('norm', n, 'teacher'):.1f}%"
    + (f" (BN-recalibrated {pct('norm', n, 'teacher_bnrecal'):.1f}%)" if pct('norm', n, 'teacher_bnrecal') == pct('norm', n, 'teacher_bnrecal') else "")
    for n in norms) + ".")
h = {v: pct("head", v) for v in labels}
txt = "- **l2-bottleneck (Fig. 12).** " + ", ".join(f"{v}: {a:.1f}%" for v, a in h.items()) + "." + (
    f" {', '.join(same_as_ref)}: the same run as the paper's head." if same_as_ref else "")
if authors:
    a = authors[0]
    txt += (f" The authors' public code (weight normalizations computed but not applied, last layer initialized "
            f"trunc-normal with std 0.02) reaches {h[a]:.1f}% vs {h[ref_parts]:.1f}% for the paper's head. "
            + (f"In this implementation it builds the same head as *{', '.join(twins[a])}* (equal parameters at "
               "initialization, bit-identical outputs on random inputs: a normalized weight that is computed and not "
               "used leaves a plain linear layer), so "
               + ("both labels are one training run and their bars are the same numbers." if one_run[a] == twins[a] else
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
J.table()
