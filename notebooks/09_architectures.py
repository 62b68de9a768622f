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
# **Sizes of the quick profile** (to fit a few minutes of CPU): the small VGG-style net (4 conv
# layers) at widths 8 and 16 and its deeper variant `small_vgg8` (8 conv layers) at width 8; the small
# ResNet-style net (one basic block per stage) at widths 8 and 16 and `small_resnet9` (two blocks per
# stage) at width 8; CIFAR ResNet20; all with BN. Fashion-MNIST resized to 16×16, 2,000 training
# images, 2 epochs (16 steps), probes on 2,000 train / 1,000 test images, 3 seeds.
#
# **Our ViT** (`rtdlib/models/vit.py`) is a standard pre-norm ViT with 12 distinct blocks, CLS-token
# features and patch size 8. The parameter table below compares its size with Table 5's #PARAMS.

# %% tags=["parameters"]
profile = "quick"
seeds = None
epochs = None
train_size = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import models, plotting, stats, sweeps, tidy
from rtdlib.config import ModelCfg
from rtdlib.executor import run_all
from rtdlib.models.vit import TABLE5_PARAMS, VIT_SIZES, authors_param_count
from rtdlib.profiles import settings

P = settings("09_architectures", profile, seeds=seeds, epochs=epochs, train_size=train_size)
plotting.style()
P

# %% [markdown]
# ## Encoder sizes: ours vs Table 5's #PARAMS (3 input channels, as on CIFAR-10)
#
# Every CNN matches Table 5 exactly. Table 5's ViT counts equal, to the parameter, a ViT with **one**
# transformer block's weights and a **patch-16** embedding (2×2 patches + CLS on 32×32). That is
# what the authors' public code builds (safelix/dinopl `models/vit.py`): it repeats one `Block`
# object 12 times (`num_layers * [Block(...)]`, so all layers share weights) and its constructors
# default to patch size 16. Our ViTs have 12 distinct blocks and patch size 8 as the paper's text
# says, so they are 9-11× larger than the #PARAMS column.

# %%
def encoder_params(arch, norm, width=64, in_channels=3):
    net = models.build(ModelCfg(arch, norm, width, out_dim=16, hidden_dim=16, bottleneck_dim=16), in_channels, seed=0)
    return sum(p.numel() for p in net.encoder.parameters())


PAPER_NORM = {a: ("layer" if a in VIT_SIZES else "batch" if a.startswith("resnet") else "none") for a in TABLE5_PARAMS}
sizes = pd.DataFrame([{"encoder": a, "ours": encoder_params(a, PAPER_NORM[a]), "Table 5": n,
                       "authors' code (1 shared block, patch 16)": authors_param_count(VIT_SIZES[a][0]) if a in VIT_SIZES else None}
                      for a, n in TABLE5_PARAMS.items()])
sizes["ours / Table 5"] = (sizes["ours"] / sizes["Table 5"]).round(3)
plotting.save_table(sizes, "table05_param_counts", profile)
sizes

# %%
results = run_all("distill", sweeps.architectures(P))
probes = tidy.frame(results, "probes", keys=("model.arch", "model.norm", "model.width", "seed"))
probes["model"] = probes["arch"] + " w" + probes["width"].astype(str) + " (" + probes["norm"] + ")"
probes.loc[probes.arch.str.startswith(("resnet", "vgg", "vit")), "model"] = probes["arch"] + " (" + probes["norm"] + ")"
model_names = list(dict.fromkeys(probes["model"]))
in_channels = 1 if P["dataset"] in ("digits", "fashion-mnist") else 3
params = {m: encoder_params(a, n, w, in_channels)
          for m, a, n, w in probes[["model", "arch", "norm", "width"]].drop_duplicates().itertuples(index=False)}
last = P["epochs"]

# %% [markdown]
# ## Table 5: final probe accuracy (%), mean ± sd over seeds

# %%
final = probes[probes.epoch == last]
summary = stats.mean_sd(final, ["model", "probe", "net"], "acc")
summary["acc (%)"] = [stats.fmt(m, s) for m, s in zip(summary["mean"], summary["sd"])]
table = summary[summary.probe == "linear"].pivot(index="model", columns="net", values="acc (%)").reindex(model_names)
table = table[[n for n in ("input", "teacher", "teacher_bnrecal", "student") if n in table.columns]]
diff = final[final.probe == "linear"].pivot_table(index=["model", "seed"], columns="net", values="acc")
gain = (diff["student"] - diff["teacher"]).groupby("model").agg(["mean", "std"]).reindex(model_names)
table["student − teacher"] = [stats.fmt(m, s) for m, s in zip(gain["mean"], gain["std"])]
if "teacher_bnrecal" in diff:
    g2 = (diff["student"] - diff["teacher_bnrecal"]).groupby("model").agg(["mean", "std"]).reindex(model_names)
    table["student − recal. teacher"] = [stats.fmt(m, s) for m, s in zip(g2["mean"], g2["std"])]
table.insert(0, "#params (encoder)", [f"{params[m]:,}" for m in model_names])
table = table.rename(columns=plotting.LABELS)
plotting.save_table(summary, "table05_architectures", profile)
plotting.save_table(table.reset_index(), "table05_linear", profile)
display(table)

# %% [markdown]
# ## The same as a figure (linear probe, mean ± sd over seeds)

# %%
nets = [n for n in ("input", "teacher", "teacher_bnrecal", "student") if n in set(final.net)]
lin = stats.mean_sd(final[final.probe == "linear"], ["model", "net"])
fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(model_names)), 3.8))
x = np.arange(len(model_names))
w = 0.8 / len(nets)
for i, net in enumerate(nets):
    f = lin[lin.net == net].set_index("model").reindex(model_names)
    ax.bar(x + (i - (len(nets) - 1) / 2) * w, f["mean"] * 100, w, yerr=f.sd * 100, capsize=2,
           color=plotting.COLORS[net], label=plotting.LABELS[net])
ax.set_xticks(x, model_names, rotation=30, ha="right", fontsize=8)
ax.set(ylabel=f"linear probe at epoch {last} (%)", ylim=(max(0, lin["mean"].min() * 100 - 10), None))
ax.legend(fontsize=7, ncol=len(nets))
ax.set_title(f"{P['dataset']} {P['train_size'] or 'all'} images, {last} epochs, {len(P['seeds'])} seeds "
             f"(mean ± sd)", fontsize=10)
plotting.save(fig, "table05_architectures", profile)

# %%
wins = (gain["mean"] > 0).sum()
rows = []
for m in model_names:
    line = f"{m}: student − teacher {gain.loc[m, 'mean'] * 100:+.1f} points"
    if "teacher_bnrecal" in diff and m in g2.index and g2.loc[m, "mean"] == g2.loc[m, "mean"]:
        line += f", student − BN-recalibrated teacher {g2.loc[m, 'mean'] * 100:+.1f}"
    rows.append(line)
inp = final[(final.probe == "linear") & (final.net == "input")]["acc"].mean() * 100
display(Markdown(
    f"### What this run found ({profile} profile, {len(P['seeds'])} seeds, {last} epochs)\n\n"
    f"- The student's mean linear probe beats its teacher's for **{wins} of {len(model_names)}** encoders "
    f"(the paper: all 13). " + "; ".join(rows) + f". Flattened input: {inp:.1f}%.\n"
    + ("- The paper's gains (4-14 points) come from 100 epochs on CIFAR-10; where this short run shows no gain or a "
       "loss, it does **not** reproduce the paper's finding at these sizes.\n" if wins < len(model_names) else "")
    + "- ViT sizes: ours have 12 distinct blocks at patch 8; Table 5's #PARAMS match one shared block at patch 16 "
      "(see the parameter table)."))
