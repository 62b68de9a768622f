"""Plot helpers: mean ± sd bands, and no clipped points on log axes."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rtdlib import plotting  # noqa: E402


def test_log_band_masks_nonpositive_means_instead_of_clipping():
    """KL = CE - H rounds to <= 0 in float32; clipped to the axis edge it drew a spurious vertical drop."""
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    plotting.mean_band(ax, [0, 1, 2, 3], [0.0, -1e-8, 2e-3, 1e-3], [0.0, 1e-8, 5e-4, 2e-3], "C0", log=True)
    y = ax.lines[0].get_ydata()
    assert np.isnan(y[:2]).all() and np.allclose(y[2:], [2e-3, 1e-3])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 0].min() >= 2  # no band where the mean was masked
    plotting.mean_band(ax, [0, 1], [-1.0, 0.0], [1.0, 1.0], "C1")  # linear axis: every mean is drawn
    assert not np.isnan(ax.lines[1].get_ydata()).any()
    plt.close(fig)


def test_baseline_draws_the_mean_and_a_band_of_one_sd():
    fig, ax = plt.subplots()
    plotting.baseline(ax, 50.0, 2.0, "C0", label="teacher")
    assert ax.lines[0].get_ydata()[0] == 50.0
    lo, hi = ax.patches[0].get_extents().transformed(ax.transData.inverted()).intervaly
    assert np.isclose(lo, 48.0) and np.isclose(hi, 52.0)
    plotting.baseline(ax, 40.0, float("nan"), "C1")  # one seed: the line alone
    assert len(ax.patches) == 1 and len(ax.lines) == 2
    plt.close(fig)
