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
# # Table 5: does the student beat its random teacher across architectures?
#
# For every encoder the profile affords, a student at locality α = 1e-10 is distilled into its
# random teacher; we probe the flattened input, the teacher, the teacher with its BN statistics
# re-estimated on the data (BN nets only), and the student. The paper's Table 5 covers VGG11-19
# (no BN), CIFAR ResNet20/56, ResNet18/34/50 and ViT-Tiny/Small/Medium/Base with patch size 8 on
# CIFAR-10 after 100 epochs.
#
# **Sizes.** The `quick` profile runs small VGG- and ResNet-style encoders with BN (and CIFAR
# ResNet20) on Fashion-MNIST at 16×16 to fit CPU minutes; the encoders, images, steps and seeds of this
# run are printed under the runs and in every title, computed from the settings and the stored results.
#
# **Our ViT** (`rtdlib/models/vit.py`) is a standard pre-norm ViT with 12 distinct blocks, CLS-token
# features and patch size 8. The parameter table below compares its size with Table 5's #PARAMS.

# %% tags=["parameters"]
profile = "quick"
seeds = None
epochs = None
train_size = None
precision = None
test_size = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import models, plotting, stats, summary, sweeps, tidy
from rtdlib.config import ModelCfg
from rtdlib.executor import run_all
from rtdlib.models.vit import TABLE5_PARAMS, VIT_SIZES, authors_param_count
from rtdlib.profiles import settings

P = settings("09_architectures", profile, seeds=seeds, epochs=epochs, train_size=train_size, precision=precision,
             test_size=test_size)
plotting.style()
P

# %% [markdown]
# ## Encoder sizes: ours vs Table 5's #PARAMS (3 input channels, as on CIFAR-10)
#
# The authors' public code (safelix/dinopl `models/vit.py`) repeats one `Block` object 12 times
# (`num_layers * [Block(...)]`, so all layers share weights) and its constructors default to patch
# size 16 (2×2 patches + CLS on 32×32); the third column counts such a ViT. Our ViTs have 12 distinct
# blocks and patch size 8 as the paper's text says. The text under the table compares the counts.

# %%
def encoder_params(arch, norm, width=64, in_channels=3):
    net = models.build(ModelCfg(arch, norm, width, out_dim=16, hidden_dim=16, bottleneck_dim=16), in_channels, seed=0)
    return sum(p.numel() for p in net.encoder.parameters())


PAPER_NORM = {a: ("layer" if a in VIT_SIZES else "batch" if a.startswith("resnet") else "none") for a in TABLE5_PARAMS}
sizes = pd.DataFrame([{"encoder": a, "ours": encoder_params(a, PAPER_NORM[a]), "Table 5": n,
                       "authors' code (1 shared block, patch 16)": authors_param_count(VIT_SIZES[a][0]) if a in VIT_SIZES else None}
                      for a, n in TABLE5_PARAMS.items()])
sizes["ours / Table 5"] = (sizes["ours"] / sizes["Table 5"]).round(3)
plotting.save_table(sizes, "table05_param_counts", profile);
is_vit = sizes.encoder.isin(list(VIT_SIZES))
cnn, vit = sizes[~is_vit], sizes[is_vit]
cnn_off = cnn[cnn["ours"] != cnn["Table 5"]]
vit_authors = (vit["authors' code (1 shared block, patch 16)"] == vit["Table 5"]).sum()
display(sizes)
display(Markdown(
    f"- CNNs: {len(cnn) - len(cnn_off)} of {len(cnn)} encoders match Table 5's #PARAMS exactly"
    + (": " + ", ".join(f"{e} ({o:,} vs {t:,})"
                        for e, o, t in cnn_off[["encoder", "ours", "Table 5"]].itertuples(index=False))
       + " differ." if len(cnn_off) else ".")
    + f"\n- ViTs: one shared block at patch 16 (the authors' code) gives Table 5's #PARAMS exactly for {vit_authors} of "
    f"{len(vit)}; ours (12 distinct blocks, patch 8) are {vit['ours / Table 5'].min():.1f}-"
    f"{vit['ours / Table 5'].max():.1f}× the #PARAMS column."))

# %%
results = run_all("distill", sweeps.architectures(P))
probes = tidy.frame(results, "probes", keys=("model.arch", "model.norm", "model.width", "seed"))
probes["model"] = probes["arch"] + " w" + probes["width"].astype(str) + " (" + probes["norm"] + ")"
probes.loc[probes.arch.str.startswith(("resnet", "vgg", "vit")), "model"] = probes["arch"] + " (" + probes["norm"] + ")"
model_names = list(dict.fromkeys(probes["model"]))
in_channels = 1 if P["dataset"] in ("digits", "fashion-mnist") else 3
params = {m: encoder_params(a, n, w, in_channels)
          for m, a, n, w in probes[["model", "arch", "norm", "width"]].drop_duplicates().itertuples(index=False)}
arch_of = dict(zip(probes["model"], probes["arch"]))
last = P["epochs"]
steps = sorted({r.metrics["steps_per_epoch"] * r.config["epochs"] for r in results})
SETTING = plotting.setting(P["dataset"], steps, P["seeds"], P["image_size"])
display(Markdown(f"Each run: {last} epochs, {' or '.join(f'{s:,}' for s in steps)} steps of batch {P['batch_size']} "
                 f"({P['train_size'] or 'all'} images, the last partial batch dropped), {len(P['seeds'])} seeds; "
                 f"encoders: {', '.join(model_names)}."))

# Table 5 of the paper (CIFAR-10, 100 epochs): linear probe (%) of teacher and student
TABLE5_ACC = {"vgg11": (36.55, 51.98), "vgg13": (34.73, 49.26), "vgg16": (33.08, 46.35), "vgg19": (30.84, 43.90),
              "resnet20": (28.68, 36.62), "resnet56": (14.05, 27.92), "resnet18": (35.50, 46.02),
              "resnet34": (28.18, 41.04), "resnet50": (19.69, 27.53), "vit_tiny": (32.93, 35.76),
              "vit_small": (38.57, 41.68), "vit_medium": (41.09, 43.13), "vit_base": (41.71, 44.38)}
paper_gain = {a: s - t for a, (t, s) in TABLE5_ACC.items()}

# %% [markdown]
# ## Paired comparisons over seeds, Holm-corrected together
#
# Every comparison the notebook states: per encoder, the student against its teacher and (BN nets)
# against the teacher with re-estimated BN statistics, on the full-label linear probe (Table 5's measure)
# and, where the runs have it, the linear probe fitted on a few labels per class (the profile's
# `low_label`). Two-sided paired t-tests over seeds (the verdict), Wilcoxon signed-rank tests reported;
# differences in accuracy points.

# %%
final = probes[probes.epoch == last]
PROBES = [p for p in ("linear", "linear_low") if p in set(final.probe)]
PROBE_NAMES = {"linear": "full-label linear probe", "linear_low": f"{P['low_label']}-labels-per-class linear probe"}
REFS = [n for n in ("teacher", "teacher_bnrecal") if n in set(final.net)]
acc = final.pivot_table(index=["model", "probe", "seed"], columns="net", values="acc")
family = stats.Family()
for m in model_names:
    for pr in PROBES:
        d = acc.loc[(m, pr)]
        for ref in REFS:
            if d[ref].notna().all():  # no BN-recalibrated teacher for nets without BN
                family.add(f"{m} | {pr} | student − {ref}", d["student"], d[ref])
tests = family.table()
tests[["mean_diff", "sd_diff"]] *= 100  # accuracy points, both columns
plotting.save_table(tests, "table05_architectures_tests", profile);
tests.round(4)

# %% [markdown]
# ## Table 5: final probe accuracy (%), mean ± sd over seeds, next to the paper's
#
# Full-label and few-labels-per-class linear probes side by side; "Table 5" columns quote the paper
# (CIFAR-10, 100 epochs, teacher → student) for the encoders it shares with this run.

# %%
summary_acc = stats.mean_sd(final, ["model", "probe", "net"], "acc")
summary_acc["acc (%)"] = [stats.fmt(m, s) for m, s in zip(summary_acc["mean"], summary_acc["sd"])]
plotting.save_table(summary_acc, "table05_architectures", profile);
cols = {}
for pr in PROBES:
    short = "" if pr == "linear" else f" ({P['low_label']}/class)"
    t = summary_acc[summary_acc.probe == pr].pivot(index="model", columns="net", values="acc (%)").reindex(model_names)
    for net in ("input", *REFS, "student"):
        if net in t:
            cols[f"{plotting.LABELS[net]}{short}"] = t[net]
    for ref in REFS:
        cols[f"student − {plotting.LABELS[ref]}{short}"] = [
            stats.fmt(r["mean_diff"], r["sd_diff"]) if (r := family.rows.get(f"{m} | {pr} | student − {ref}"))
            else "" for m in model_names]
table = pd.DataFrame(cols, index=model_names)
table.insert(0, "#params (encoder)", [f"{params[m]:,}" for m in model_names])
table["Table 5: teacher → student"] = [f"{TABLE5_ACC[arch_of[m]][0]:.1f} → {TABLE5_ACC[arch_of[m]][1]:.1f} "
                                       f"({paper_gain[arch_of[m]]:+.1f})" if arch_of[m] in paper_gain else ""
                                       for m in model_names]
plotting.save_table(table.rename_axis("model").reset_index(), "table05_linear", profile);
display(table)

# %% [markdown]
# ## The gains as a figure: student − teacher per encoder (mean ± sd over seeds)
#
# Bars are paired differences, so their axis starts at 0 by construction; ◆ marks Table 5's gain
# (CIFAR-10) for an encoder the paper also ran; ★ marks a Holm-significant difference.

# %%
HATCH = {"teacher": None, "teacher_bnrecal": "//"}
fig, axes = plt.subplots(1, len(PROBES), figsize=(max(6, 1.0 * len(model_names)) * len(PROBES), 4), squeeze=False,
                         sharey=True)
x = np.arange(len(model_names))
w = 0.8 / len(REFS)
for ax, pr in zip(axes[0], PROBES):
    for i, ref in enumerate(REFS):
        rows = [family.rows.get(f"{m} | {pr} | student − {ref}") for m in model_names]
        mean = np.array([r["mean_diff"] * 100 if r else np.nan for r in rows])
        sd = np.array([r["sd_diff"] * 100 if r else np.nan for r in rows])
        xs = x + (i - (len(REFS) - 1) / 2) * w
        ax.bar(xs, mean, w, yerr=np.nan_to_num(sd), capsize=2, color=plotting.COLORS[ref], hatch=HATCH[ref],
               label=f"student − {plotting.LABELS[ref]}")
        for xi, m, mi, si in zip(xs, model_names, mean, sd):
            key = f"{m} | {pr} | student − {ref}"
            if key in family.rows and family.result(key)["significant"]:
                ax.annotate("★", (xi, mi + np.sign(mi) * np.nan_to_num(si)), ha="center",
                            va="bottom" if mi >= 0 else "top", fontsize=9)
    at = x - (len(REFS) - 1) / 2 * w  # over the student − teacher bar
    shared = [(xi, paper_gain[arch_of[m]]) for xi, m in zip(at, model_names) if arch_of[m] in paper_gain]
    if shared and pr == "linear":  # Table 5 is a full-label linear probe
        ax.plot(*zip(*shared), "kD", ms=5, label="Table 5 (CIFAR-10): student − teacher")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, model_names, rotation=30, ha="right", fontsize=8)
    ax.set(title=PROBE_NAMES[pr], ylabel="student − reference (accuracy points)" if pr == PROBES[0] else None)
handles = {h.get_label(): h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]}
fig.tight_layout()
fig.legend(handles.values(), handles.keys(), loc="lower center", bbox_to_anchor=(0.5, 0.98), ncol=len(handles),
           fontsize=8)  # above the panels: inside it covered bars, below it the rotated names
fig.suptitle(f"Student − teacher at the end of distillation, {SETTING} (mean ± sd)", fontsize=10, y=1.11)
plotting.save(fig, "table05_architectures", profile);

# %%
def line(m):
    parts = [f"against the {plotting.LABELS[ref]}, the student's " + " and its ".join(
        f"{PROBE_NAMES[pr]} {family.says(f'{m} | {pr} | student − {ref}', 'beats it', 'is below it')}"
        for pr in PROBES) for ref in REFS if f"{m} | {PROBES[0]} | student − {ref}" in family.rows]
    paper = (f" Table 5 ({arch_of[m]}, CIFAR-10): {TABLE5_ACC[arch_of[m]][0]:.1f}% → {TABLE5_ACC[arch_of[m]][1]:.1f}% "
             f"({paper_gain[arch_of[m]]:+.1f})." if arch_of[m] in paper_gain else "")
    return f"- **{m}**: " + "; ".join(parts) + "." + paper


def beaten(pr):
    return [m for m in model_names if (k := f"{m} | {pr} | student − teacher") in family.rows
            and family.result(k)["significant"] and family.result(k)["mean_diff"] > 0]


wins = {pr: beaten(pr) for pr in PROBES}
inp = final[(final.probe == "linear") & (final.net == "input")]["acc"].mean() * 100
lo, hi = min(paper_gain, key=paper_gain.get), max(paper_gain, key=paper_gain.get)
display(Markdown(
    f"### What this run found ({profile} profile, {SETTING})\n\n"
    + "- The student significantly beats its teacher (Holm-corrected paired t-test over seeds, "
    f"{len(family.rows)} comparisons) for " + "; ".join(
        f"**{len(wins[pr])} of {len(model_names)}** encoders on the {PROBE_NAMES[pr]}" for pr in PROBES)
    + f"; the paper's student beats its teacher for {sum(g > 0 for g in paper_gain.values())} of {len(paper_gain)} "
    f"encoders (Table 5, gains {paper_gain[lo]:+.1f} ({lo}) to {paper_gain[hi]:+.1f} ({hi}) points, CIFAR-10, "
    f"no error bars given). Flattened input, full-label linear probe: {inp:.1f}%.\n"
    + "\n".join(line(m) for m in model_names) + "\n"
    + f"- ViT sizes: ours have 12 distinct blocks at patch 8; Table 5's #PARAMS match one shared block at patch 16 "
      f"for {vit_authors} of {len(vit)} ViTs (see the parameter table)."))

# %% [markdown]
# ## Claims for the summary
#
# Reproduces: **yes** if the student significantly beats its teacher on the full-label linear probe for every
# encoder (Holm-corrected family above), **partly** if it does for at least one encoder on the full-label or
# the few-labels-per-class linear probe, **no** otherwise.

# %%
everywhere = len(wins["linear"]) == len(model_names)
some = any(wins[pr] for pr in PROBES)
claims = [summary.claim(
    figure="Table 5",
    claim="Across architectures (VGG, ResNet, ViT) the student's linear probe beats its random teacher's",
    paper="CIFAR-10, 100 epochs, linear probe teacher → student: " + "; ".join(
        f"{a} {t:.2f} → {s:.2f}" for a, (t, s) in TABLE5_ACC.items()) + " (\"The students outperform their teachers "
        "in all cases\")",
    ours=f"{SETTING}: student significantly above teacher for " + "; ".join(
        f"{len(wins[pr])} of {len(model_names)} encoders ({PROBE_NAMES[pr]})" for pr in PROBES) + "; gains "
        + "; ".join(f"{m} {family.result(f'{m} | linear | student − teacher')['mean_diff'] * 100:+.1f}"
                    for m in model_names) + " points (full-label linear)",
    reproduces="yes" if everywhere else "partly" if some else "no")]
summary.save(claims, "09_architectures", profile)
pd.DataFrame(claims)
