"""Every notebook runs under papermill with the smoke profile; bad input fails cleanly."""
import json
import os
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

from rtdlib import notebooks
from rtdlib.store import results_dir

NAMES = notebooks.available()


@pytest.fixture(scope="module", autouse=True)
def isolated_results(tmp_path_factory):
    old = os.environ.get("RTD_RESULTS")
    os.environ["RTD_RESULTS"] = str(tmp_path_factory.mktemp("results"))
    yield
    os.environ.pop("RTD_RESULTS") if old is None else os.environ.__setitem__("RTD_RESULTS", old)


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "rtdlib", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})}, cwd=notebooks.ROOT)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_cell_survives_jupytext(name):
    nb = jupytext.read(notebooks.source(name))
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    params = notebooks.parameters(name)  # read without jupytext: the same cell
    assert list(params) == [line.split("=")[0].strip() for line in tagged[0].source.splitlines() if "=" in line]
    assert params["profile"] == "quick"
    from rtdlib.profiles import PROFILES
    if name in PROFILES["quick"]:  # every other parameter overrides a profile setting of the same name
        assert set(params) - {"profile"} <= set(PROFILES["quick"][name]), set(params) - set(PROFILES["quick"][name])
    assert jupytext.writes(nb, "py:percent").count('tags=["parameters"]') == 1


@pytest.mark.notebook
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_with_smoke_profile(name):
    figs = notebooks.run(name, "smoke")
    assert any(f.suffix == ".png" for f in figs) and all(f.exists() and f.stat().st_size > 0 for f in figs)
    record = json.loads((notebooks.FIGURES / "smoke" / ".runs" / f"{name}.json").read_text())
    assert record["results"] and (notebooks.BUILD / "smoke" / f"{name}.ipynb").exists()
    manifest = (notebooks.FIGURES / "smoke" / "MANIFEST.md").read_text()
    assert f"notebooks/{name}.py" in manifest


@pytest.mark.notebook
def test_figures_command_skips_an_up_to_date_notebook():
    only = ("figures", "--profile", "smoke", "--only", "01_student_vs_teacher")
    assert cli(*only).returncode == 0  # whatever ran before (e.g. with overrides), now a plain run
    target = notebooks.FIGURES / "smoke" / "fig01_student_vs_teacher.png"
    stamp = target.stat().st_mtime_ns
    r = cli(*only)
    assert r.returncode == 0 and "01_student_vs_teacher: up to date" in r.stdout, r.stdout
    assert target.stat().st_mtime_ns == stamp


@pytest.mark.notebook
def test_overrides_reach_the_notebook_damage_is_reported_and_a_failing_notebook_leaves_no_figure():
    folder = notebooks.FIGURES / "smoke+epochs=1+seeds=5"  # an override run has its own folder
    record_path = folder / ".runs" / "01_student_vs_teacher.json"
    r = cli("run", "01_student_vs_teacher", "--profile", "smoke", "-p", "seeds=[5]", "-p", "epochs=1")
    assert r.returncode == 0, r.stderr
    assert f"figures go to {folder}/" in r.stdout
    record = json.loads(record_path.read_text())
    assert record["overrides"] == {"seeds": [5], "epochs": 1}
    assert "`-p epochs=1` `-p seeds=[5]`" in (folder / "MANIFEST.md").read_text()
    assert len(record["results"]) == 2  # two architectures x the one overridden seed
    entry = results_dir() / record["results"][0]
    (entry / "metrics.json").write_text("{garbage")
    r = cli("run", "01_student_vs_teacher", "--profile", "smoke", "-p", "seeds=[5]", "-p", "epochs=1")
    assert r.returncode == 0 and f"damaged store entry {entry}: metrics.json" in r.stderr, r.stderr  # told
    assert record["results"][0] in json.loads(record_path.read_text())["computed"]  # and recomputed
    target = folder / "fig01_student_vs_teacher.png"
    stamp = target.stat().st_mtime_ns
    r = cli("run", "01_student_vs_teacher", "--profile", "smoke", "-p", "train_size=-3")
    assert r.returncode == 2 and "train_size = -3" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert target.stat().st_mtime_ns == stamp
    assert not list(notebooks.FIGURES.glob(".staging-*"))


TINY = """# %% tags=["parameters"]
profile = "quick"
rows = None

# %%
import os
from pathlib import Path
rows = 2 if rows is None else rows
assert rows >= 0, "rows must be >= 0"
Path(os.environ["RTD_FIGURES_DIR"], "table.csv").write_text("x\\n" + "1\\n" * rows)
"""


@pytest.mark.notebook
def test_override_runs_keep_the_profiles_figures_and_a_failed_run_leaves_only_a_failure_log(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "zz_tiny.py").write_text(TINY)  # a notebook without profile settings: no training
    for attr in ("NOTEBOOKS", "FIGURES", "BUILD"):
        monkeypatch.setattr(notebooks, attr, tmp_path / attr.lower())
    notebooks.run("zz_tiny", "smoke")
    mine = notebooks.run("zz_tiny", "smoke", rows=3)
    assert mine == [tmp_path / "figures" / "smoke+rows=3" / "table.csv"]
    assert (tmp_path / "figures" / "smoke" / "table.csv").read_text().count("1") == 2  # the profile's: untouched
    assert mine[0].read_text().count("1") == 3
    assert "`-p rows=3`" in (tmp_path / "figures" / "smoke+rows=3" / "MANIFEST.md").read_text()
    build = tmp_path / "build" / "smoke+rows=3"
    with pytest.raises(notebooks.NotebookError, match=r"failed in cell .*rows must be >= 0.*zz_tiny.failed.ipynb"):
        notebooks.run("zz_tiny", "smoke", rows=-1)
    failed = tmp_path / "build" / "smoke+rows=-1"
    assert sorted(p.name for p in failed.iterdir()) == ["zz_tiny.failed.ipynb", "zz_tiny.failed.stderr.log"]
    assert sorted(p.name for p in build.iterdir()) == ["zz_tiny.ipynb", "zz_tiny.stderr.log"]
    assert not list((tmp_path / "figures").glob(".staging-*")) and not (tmp_path / "figures" / "smoke+rows=-1").exists()


def test_stale_staging_folders_are_found_without_proc(tmp_path, monkeypatch):
    """macOS has no /proc: liveness comes from each run's lock (and, before it is taken, its process id)."""
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self, *a, **k: not str(self).startswith("/proc") and real_exists(self, *a, **k))
    monkeypatch.setattr(os.path, "exists", lambda p: not str(p).startswith("/proc") and os.path.lexists(p))
    monkeypatch.setattr(notebooks, "FIGURES", tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with notebooks.staging_folder("live") as live:  # a running run holds its lock
        reused = tmp_path / f".staging-{os.getpid()}-reused-x"  # killed; its process id now names a live process
        reused.mkdir()
        (reused / notebooks.LOCK).touch()
        early = tmp_path / f".staging-{gone.pid}-early-x"  # killed before it took its lock
        early.mkdir()
        starting = tmp_path / f".staging-{os.getpid()}-starting-x"  # alive, about to take its lock
        starting.mkdir()
        notebooks.remove_stale_staging()
        assert live.is_dir() and starting.is_dir() and not reused.exists() and not early.exists()
    assert not live.exists()


def test_a_process_of_another_user_counts_as_alive(monkeypatch):
    def kill(pid, sig):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "kill", kill)
    assert notebooks.pid_alive(1)


def test_paper_dry_run_needs_no_data(tmp_path):
    r = cli("figures", "--profile", "paper", "--dry-run", env={"RTD_DATA": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert "resnet18/batch" in r.stdout and "vgg11/none" in r.stdout and "out_dim=65536" in r.stdout
    # 05: 8 grids and one null-lines entry per seed (3 seeds)
    for stage in ("05_landscapes: 11 landscape runs", "06_lottery: 10 supervised runs", "06_lottery: 25 lottery runs",
                  "07_mode_connectivity: 30 supervised runs", "07_mode_connectivity: 6 connectivity runs"):
        assert stage in r.stdout
    assert "start=student seed=4 order=0 rewind_epoch=0 rounds=24" in r.stdout


def test_dry_run_cost_scales_the_encoder_with_the_pixel_count_and_the_head_with_m():
    from rtdlib import plan
    from rtdlib.config import DataCfg, DistillCfg, ModelCfg
    at = lambda side, m: plan.per_image(DistillCfg(data=DataCfg("fashion-mnist", image_size=side),
                                                    model=ModelCfg("small_vgg", out_dim=m)))
    encoder = plan.CPU_SEC_PER_IMAGE["small_vgg"]
    assert at(16, 1) - at(32, 1) == pytest.approx(-0.75 * encoder)  # a quarter of the pixels
    assert at(None, 1) - at(16, 1) == pytest.approx(((28 / 32) ** 2 - 0.25) * encoder)  # native Fashion-MNIST: 28x28
    assert at(16, 2 ** 16) - at(16, 1) == pytest.approx(plan.HEAD_SEC_PER_IMAGE_PER_OUTPUT * (2 ** 16 - 1))


def test_up_to_date_only_when_sources_figures_and_results_are_unchanged(tmp_path, monkeypatch):
    from conftest import tiny_cfg
    from rtdlib.store import Store
    monkeypatch.setattr(notebooks, "FIGURES", tmp_path / "figures")
    monkeypatch.setenv("RTD_RESULTS", str(tmp_path / "results"))
    entry = Store().get_or_run("distill", tiny_cfg(), lambda cfg, run: {"made": "by hand"})
    out = tmp_path / "figures" / "smoke"
    (out / ".runs").mkdir(parents=True)
    (out / "fig.png").write_bytes(b"png")
    name = "01_student_vs_teacher"
    record = {"overrides": {}, "inputs": notebooks.inputs_digest(name), "figures": ["fig.png"],
              "results": [f"distill/{entry.hash}"], "finished": "then"}

    def with_record(**change):
        (out / ".runs" / f"{name}.json").write_text(json.dumps(record | change))
        return notebooks.up_to_date(name, "smoke")

    assert with_record() == record
    assert with_record(overrides={"epochs": 1}) is None  # made with overrides: not the profile's figures
    assert with_record(inputs="0" * 64) is None  # notebook or rtdlib sources changed since
    assert with_record(figures=["fig.png", "gone.png"]) is None
    (entry.path / "metrics.json").write_text("{}")  # a result it read is damaged: recompute and redraw
    with pytest.warns(UserWarning, match="damaged store entry"):
        assert with_record() is None
