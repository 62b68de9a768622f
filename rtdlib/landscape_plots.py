"""Drawing stored landscape grids: heat maps with the marked points and ‖θ‖ contours, and 1-D slices."""
from __future__ import annotations

import math

import numpy as np

LOG_METRICS = ("kl", "enc_kl")  # KL sits orders of magnitude apart across a plane: plot log10
LABELS = {"loss": "distillation loss (CE)", "kl": "log10 KL to teacher", "enc_kl": "log10 encoder KL",
          "linear": "linear probe acc. (%)", "knn": "k-NN acc. (%)", "norm": "‖θ‖"}
PERCENT = ("linear", "knn")  # stored as fractions, drawn in % as in every other figure
CMAPS = {"linear": "magma", "knn": "magma"}
MARKERS = ("*", "o", "s")
NAMED_MARKERS = {"fresh init": "D"}  # not the α≈0 student's circle: one legend serves both views


def values(m: dict, metric: str, stack: int = 0) -> np.ndarray:
    """The (b, a) array of a metric on one stacked plane; log10 for KLs, NaN where the KL is exactly 0
    (the teacher with its own buffers), so the colour range comes from the rest of the plane."""
    z = np.asarray(m["grids"][metric][stack], dtype=float)
    return log10_kl(z) if metric in LOG_METRICS else z * 100 if metric in PERCENT else z


def log10_kl(z: np.ndarray) -> np.ndarray:
    """log10 of the positive entries, NaN elsewhere (a KL of exactly 0 has no place on a log scale)."""
    return np.log10(z, out=np.full_like(z, np.nan), where=z > 0)


def heatmap(ax, m: dict, metric: str, stack: int = 0, contours=True, colorbar=True, title=None):
    """Heat map of one stacked plane; the marked points only on the plane at offset 0, which holds them."""
    from matplotlib import colormaps, patheffects
    a, b = np.asarray(m["a"]), np.asarray(m["b"])
    cmap = colormaps[CMAPS.get(metric, "viridis")].with_extremes(bad="lightgrey")  # NaN: a KL of exactly 0
    im = ax.pcolormesh(a, b, values(m, metric, stack), shading="nearest", cmap=cmap, rasterized=True)
    if contours:
        cs = ax.contour(a, b, np.asarray(m["grids"]["norm"][stack]), levels=6, colors="white", linewidths=0.6,
                        alpha=0.8)
        ax.clabel(cs, fontsize=6, fmt="%.1f")
        ax.plot([], [], color="white", lw=1.2, label="‖θ‖ contours (labelled)",
                path_effects=[patheffects.withStroke(linewidth=2.4, foreground="black")])
    if m["stack"][stack] == 0:
        for marker, p in zip(MARKERS, m["points"]):
            marker = NAMED_MARKERS.get(p["name"], marker)
            if a.min() <= p["a"] <= a.max() and b.min() <= p["b"] <= b.max():
                ax.plot(p["a"], p["b"], marker, ms=9, mfc="white", mec="black", mew=0.8, label=p["name"])
    if metric in LOG_METRICS:  # the grey cells of exact zeros, marked on top
        zi, zj = np.nonzero(np.asarray(m["grids"][metric][stack], dtype=float) <= 0)
        if len(zi):
            ax.plot(a[zj], b[zi], "x", ms=7, mew=1.5, color="red", ls="none", label="KL = 0 exactly (grey)")
    ax.set_xlim(a.min(), a.max())
    ax.set_ylim(b.min(), b.max())
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03).set_label(LABELS[metric], fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return im


def line(m: dict, angle_deg: float, offset: float, n: int = 200):
    """End points of the line through the window's centre shifted by `offset` (fraction of the half-extent
    along the normal), at `angle_deg` in plot units, clipped to the window; None if it misses the window."""
    a, b = np.asarray(m["a"]), np.asarray(m["b"])
    ca, cb, ha, hb = (a[0] + a[-1]) / 2, (b[0] + b[-1]) / 2, (a[-1] - a[0]) / 2, (b[-1] - b[0]) / 2
    phi = math.radians(angle_deg)
    d = np.array([math.cos(phi), math.sin(phi)])
    nrm = np.array([-d[1], d[0]])
    p0 = np.array([ca, cb]) + offset * (abs(nrm[0]) * ha + abs(nrm[1]) * hb) * nrm
    lo, hi = -np.inf, np.inf  # clip p0 + t d to the box
    for k, (c0, c1) in enumerate(((a[0], a[-1]), (b[0], b[-1]))):
        if abs(d[k]) < 1e-12:
            if not c0 - 1e-12 <= p0[k] <= c1 + 1e-12:
                return None
            continue
        t0, t1 = sorted(((c0 - p0[k]) / d[k], (c1 - p0[k]) / d[k]))
        lo, hi = max(lo, t0), min(hi, t1)
    if hi <= lo:
        return None
    return p0 + lo * d, p0 + hi * d


def line_slice(m: dict, metric: str, angle_deg: float, offset: float, stack: int = 0, n: int = 200):
    """(distance along the line, values, (start, end)) by bilinear interpolation of the grid."""
    from scipy.interpolate import RegularGridInterpolator
    ends = line(m, angle_deg, offset)
    if ends is None:
        return np.array([]), np.array([]), None
    start, end = ends
    a, b = np.asarray(m["a"]), np.asarray(m["b"])
    pts = start + np.linspace(0, 1, n)[:, None] * (end - start)
    inside = np.clip(pts, [a.min(), b.min()], [a.max(), b.max()])  # end points on the border can round outside
    # KLs: interpolate the KL itself, then take log10, so a slice through the zero at the teacher loses
    # one point rather than a cell's width on both sides
    f = RegularGridInterpolator((b, a), np.asarray(m["grids"][metric][stack], dtype=float))
    z = f(inside[:, ::-1])
    z = log10_kl(z) if metric in LOG_METRICS else z * 100 if metric in PERCENT else z
    return np.linalg.norm(pts - start, axis=1), z, (start, end)
