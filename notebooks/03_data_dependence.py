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
# # Fig. 4 and Tables 2, 4: are the learned features data dependent, and do they transfer?
#
# **Fig. 4.** A student is distilled on the first n images of the training set, or on n inputs of
# pure Gaussian noise of the same shape, and always probed on the same clean images. The paper
# (VGG11 on CIFAR-5M subsets, probed on CIFAR-10) finds the student improves steadily with n on real
# images and does not improve over its teacher on noise at any n. CIFAR-5M is not available here;
# our sizes are subsets of the profile's dataset, and the line under the parameters says how large
# a part of it the largest n is.
#
# **Training budget.** The paper does not say how long each sample size was trained. We give every
# n the same number of optimization steps (epochs = ⌈steps / (n / batch)⌉), so a larger n means
# more distinct images, not more compute. An n above steps × batch is refused, as it would not be
# seen whole; the line under the parameters says how many epochs each n gets (the `paper` profile's
# 29,300 steps of 256 are 150 epochs of its largest n = 50,000).
#
# **Tables 2 and 4.** Distil on a source dataset, then probe teacher and student (linear and k-NN,
# k = 20) on a different target dataset. The paper distils on Tiny ImageNet and probes CIFAR-10/100
# and STL-10. `quick` uses the two offline datasets: Fashion-MNIST → digits and digits →
# Fashion-MNIST, both resized to 16×16.
#
# **Sizes.** `quick`: small VGG-style net without BN (width 16), head 512 → 128 → m = 1,024, Fashion-MNIST
# at 16×16, n ∈ {128, 512, 2,048, 8,192} with 128 steps of batch 64, probes on a fixed set of
# 2,000 clean training and 1,000 test images; transfer with the small ResNet-style net (BN) and the
# small VGG-style net (no BN), 1,024 source images, 6 epochs of batch 64; seeds 0, 1, 2.

# %% tags=["parameters"]
profile = "quick"
seeds = None
sizes = None
steps = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from rtdlib import data, plotting, stats, sweeps, tidy
from rtdlib.config import DataCfg
from rtdlib.executor import run_all
from rtdlib.profiles import settings

P = settings("03_data_dependence", profile, seeds=seeds, sizes=sizes, steps=steps)
plotting.style()
n_seeds = len(P["seeds"])
n_available = len(data.load(DataCfg(P["dataset"])).x_train)
epochs_of = {c.data.train_size: c.epochs for c in sweeps.data_size(P)}
display(Markdown(f"This run: n ∈ {{{', '.join(f'{n:,}' for n in P['sizes'])}}}; the largest n is "
                 f"{max(P['sizes']):,} of the {n_available:,} training images of {P['dataset']} "
                 f"({max(P['sizes']) / n_available:.1%}). Each n gets at least {P['steps']} steps of batch "
                 f"{P['batch_size']}: " + ", ".join(f"n = {n:,}: {e} epochs" for n, e in epochs_of.items()) + "."))
P

# %%
size_results = run_all("distill", sweeps.data_size(P))
transfer_results = run_all("distill", sweeps.transfer(P))
keys = ("model.arch", "model.norm", "data.name", "data.train_size", "data.noise", "seed", "epochs")
sizes_df = tidy.frame(size_results, "probes", keys)
sizes_df = sizes_df[sizes_df.epoch == sizes_df.epochs]
sizes_df["inputs"] = sizes_df["noise"].map({False: "real images", True: "Gaussian noise"})

# %% [markdown]
# ## Fig. 4: probe accuracy vs number of distillation samples (clean probe set), mean ± sd over seeds

# %%
arch, norm, width = P["arch"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
palette = {"real images": plotting.COLORS["student"], "Gaussian noise": "#dd8452"}
for ax, probe in zip(axes, ("linear", "knn")):
    d = sizes_df[sizes_df.probe == probe]
    for inputs, g in stats.mean_sd(d[d.net == "student"], ["inputs", "train_size"]).groupby("inputs", sort=False):
        ax.errorbar(g.train_size, g["mean"] * 100, yerr=g.sd * 100, fmt="-o", ms=4, capsize=3,
                    color=palette[inputs], label=f"student, {inputs}")
    for net, style in (("teacher", "--"), ("teacher_bnrecal", ":"), ("input", "-.")):
        base = d[d.net == net].groupby("seed")["acc"].mean() * 100  # one teacher per seed, probed at every n
        if len(base):
            plotting.baseline(ax, base.mean(), base.std(), plotting.COLORS[net], style, plotting.LABELS[net])
    ax.set(xscale="log", xlabel="distillation samples n (log scale)", title=f"{probe} probe",
           ylabel="probe accuracy on clean data (%)")
    ax.set_xticks(P["sizes"], [f"{n:,}" for n in P["sizes"]])
    ax.minorticks_off()
axes[0].legend(fontsize=7)
fig.suptitle(f"{arch} ({'BN' if norm == 'batch' else 'no BN'}) on {P['dataset']}, {P['steps']} steps of batch "
             f"{P['batch_size']} per n, {n_seeds} seeds (mean ± sd)", fontsize=10)
fig.tight_layout()
plotting.save(fig, "fig04_data_dependence", profile)
fig4 = stats.mean_sd(sizes_df, ["inputs", "train_size", "net", "probe"])
plotting.save_table(fig4, "table_fig04_data_dependence", profile)

# %% [markdown]
# ## Tables 2 and 4: transfer, probe accuracy (%) on the target dataset, mean ± sd over seeds

# %%
tr = tidy.frame(transfer_results, "probes", keys)
tr["probe_on"] = [r.config["probe_data"]["name"] for r in transfer_results for _ in r.metrics["probes"]]
tr = tr[tr.epoch == tr.epochs]
tr["model"] = tr["arch"] + " (" + tr["norm"].map({"batch": "BN", "none": "no BN"}).fillna(tr["norm"]) + ")"
tr["source → target"] = tr["name"] + " → " + tr["probe_on"]
transfer = stats.mean_sd(tr, ["source → target", "model", "probe", "net"])
transfer["acc (%)"] = [stats.fmt(m, s) for m, s in zip(transfer["mean"], transfer["sd"])]
plotting.save_table(transfer, "table02_04_transfer", profile)
nets = [n for n in plotting.LABELS if n in set(transfer.net)]
table = (transfer[transfer.probe.isin(["linear", "knn"])]
         .pivot(index=["source → target", "model", "probe"], columns="net", values="acc (%)")[nets]
         .rename(columns=plotting.LABELS))
display(table)

# %% [markdown]
# Paired over seeds: student − teacher and student − BN-recalibrated teacher on the target (points).

# %%
rows = []
for (pair, model, probe), g in tr.groupby(["source → target", "model", "probe"], sort=False):
    d = g.pivot(index="seed", columns="net", values="acc")
    for base in ("teacher", "teacher_bnrecal"):
        if base in d:
            rows.append({"source → target": pair, "model": model, "probe": probe, "comparison": f"student − {base}",
                         **stats.paired_test(d["student"], d[base])})
tests = pd.DataFrame(rows)
tests["mean_diff"] *= 100
tests["sd_diff"] *= 100
plotting.save_table(tests, "table02_04_transfer_tests", profile)
tests.round(4)

# %%
def size_finding():
    lin = fig4[(fig4.probe == "linear")]
    real = lin[(lin.inputs == "real images") & (lin.net == "student")].set_index("train_size")["mean"] * 100
    noise = lin[(lin.inputs == "Gaussian noise") & (lin.net == "student")].set_index("train_size")["mean"] * 100
    teacher = lin[lin.net == "teacher"]["mean"].mean() * 100
    ns = sorted(real.index)
    steps = [real[b] - real[a] for a, b in zip(ns, ns[1:])]
    below = [n for n in ns if real[n] < teacher]
    noise_above = [n for n in ns if noise[n] > teacher + 0.5]
    out = [f"- Real images: linear probe " + ", ".join(f"n={n}: {real[n]:.1f}%" for n in ns)
           + f" (teacher {teacher:.1f}%). Changes from one size to the next: "
           + ", ".join(f"{d:+.1f}" for d in steps) + " points; "
           + ("the accuracy increases at every step, as in the paper." if all(d > 0 for d in steps) else
              "the accuracy does **not** increase at every step (the paper's curve rises steadily with n).")
           + (f" Students distilled on n = {below} images are below their teacher." if below else
              " Every student is above its teacher."),
           f"- Gaussian noise: " + ", ".join(f"n={n}: {noise[n]:.1f}%" for n in ns) + ". "
           + ("No noise-trained student beats the teacher by more than 0.5 points, as in the paper." if not noise_above
              else f"Noise-trained students beat the teacher by more than 0.5 points at n = {noise_above} "
                   f"(the paper saw no improvement from noise)."),
           f"- Real minus noise at the largest n: {real[ns[-1]] - noise[ns[-1]]:+.1f} points."]
    return "\n".join(out)


def transfer_finding():
    lines = []
    for _, r in tests[(tests.probe == "linear")].iterrows():
        lines.append(f"- {r['source → target']}, {r['model']}: {r['comparison']} = {r['mean_diff']:+.1f} points "
                     f"(sd {r['sd_diff']:.1f}, paired t p = {r['p_t']:.2g}, n = {r['n']})")
    wins = tests[(tests.probe == "linear") & (tests.comparison == "student − teacher")]
    verdict = (f"The student beats its teacher on the target in {int((wins.mean_diff > 0).sum())} of {len(wins)} "
               f"(source → target, model) cases in the linear probe (the paper: in all).")
    return "\n".join(lines) + "\n\n" + verdict


display(Markdown(f"### What this run found ({profile} profile, {n_seeds} seeds: {P['seeds']})\n\n"
                 f"**Fig. 4 ({arch}, {P['dataset']})**\n\n{size_finding()}\n\n**Transfer (linear probe)**\n\n"
                 f"{transfer_finding()}"))
