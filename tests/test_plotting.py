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


def test_saved_pdfs_are_byte_stable(tmp_path, monkeypatch):
    """A rerun that draws the same figure must leave git status clean: no creation date in the PDF."""
    monkeypatch.setenv("RTD_FIGURES_DIR", str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    saved = []
    for epoch in ("1000000000", "1700000000"):  # matplotlib dates PDFs from SOURCE_DATE_EPOCH, else now
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        saved.append({p.suffix: p.read_bytes() for p in plotting.save(fig, "stable", "smoke")})
    plt.close(fig)
    assert saved[0] == saved[1] and saved[0][".pdf"].startswith(b"%PDF")


def test_saved_files_follow_the_umask(tmp_path, monkeypatch):
    """Files are written through a private temporary file; the result must be 0644 under umask 022."""
    import os
    monkeypatch.setenv("RTD_FIGURES_DIR", str(tmp_path))
    fig, _ = plt.subplots()
    for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
        old = os.umask(umask)
        try:
            paths = plotting.save(fig, f"mode{umask:o}", "smoke")
        finally:
            os.umask(old)
        assert {oct(p.stat().st_mode & 0o777) for p in paths} == {oct(mode)}
    plt.close(fig)


def test_outputs_are_found_from_the_project_root_not_the_current_folder(tmp_path, monkeypatch):
    """JupyterLab starts a kernel in notebooks/: its figures, results and data are those of `make figures`."""
    from rtdlib import data, paths, store
    root = paths.project_root()
    assert (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir()
    for var in ("RTD_ROOT", "RTD_FIGURES_DIR", "RTD_FIGURES", "RTD_RESULTS", "RTD_DATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    assert plotting.figure_dir("quick") == root / "figures" / "quick"
    assert store.results_dir() == root / "results" and data.data_dir() == (root / "data").resolve()
    monkeypatch.setenv("RTD_FIGURES", str(tmp_path / "elsewhere"))  # as the runner honours it
    assert plotting.figure_dir("quick") == tmp_path / "elsewhere" / "quick"
