"""The paper-trial path on fake data in the real on-disk layouts: notebook 01 over the four datasets of
Tables 1 and 3 with the paper's model, head, batch size and image size, and one landscape grid of 05.

Smaller than the trial itself only where CPU time demands it (one architecture, one seed, 256 training
images, a 2x2 grid); every shape the paper profile trains at is kept."""
import json

import pytest

from fake_layouts import trust_fakes, write_all
from rtdlib import notebooks
from rtdlib.profiles import PROFILES, settings

PAPER = PROFILES["paper"]


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_all(root)
    return root


@pytest.fixture
def paper_env(fake_data, tmp_path, monkeypatch):
    for key, value in trust_fakes(monkeypatch, tmp_path / "site").items():
        monkeypatch.setenv(key, value)
    for key, value in {"RTD_DATA": str(fake_data), "RTD_RESULTS": str(tmp_path / "results"), "RTD_WORKERS": "1",
                       "RTD_DEVICE": "cpu"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(notebooks, "FIGURES", tmp_path / "figures")
    monkeypatch.setattr(notebooks, "BUILD", tmp_path / "build")
    return tmp_path


def test_the_trial_keeps_the_papers_shapes_and_shrinks_only_sizes():
    for nb, trial in PROFILES["paper-trial"].items():
        for key in ("archs", "arch", "head", "model", "batch_size", "image_size", "dataset", "more_datasets",
                    "transfer_pairs", "transfer_archs", "precision", "drop_last", "linear_optimizer"):
            if key in PAPER[nb]:
                assert trial[key] == PAPER[nb][key], (nb, key)
    assert PROFILES["paper-trial"]["01_student_vs_teacher"]["precision"] == "fp32"


@pytest.mark.notebook
def test_trial_01_runs_on_every_dataset_of_tables_1_and_3(paper_env):
    name = "01_student_vs_teacher"
    small = {"archs": [["vgg11", "none", 64]], "train_size": 256, "seeds": [0]}
    figs = notebooks.run(name, "paper-trial", **small)
    assert any(f.name == "fig01_student_vs_teacher.png" for f in figs)
    folder = notebooks.output_folder("paper-trial", small)
    record = json.loads((paper_env / "figures" / folder / ".runs" / f"{name}.json").read_text())
    configs = [json.loads((paper_env / "results" / r / "config.json").read_text()) for r in record["results"]]
    assert sorted((c["data"]["name"], c["seed"]) for c in configs) == [
        ("cifar10", 0), ("cifar100", 0), ("stl10", 0), ("tiny-imagenet", 0)]
    assert {(c["data"]["image_size"], c["batch_size"], c["model"]["out_dim"], c["precision"], c["drop_last"])
            for c in configs} == {(32, 256, 65536, "fp32", False)}
    table = (paper_env / "figures" / folder / "table1_3_paper_vs_ours.csv").read_text()
    assert "tiny-imagenet" in table and "12.88" in table  # Table 1's VGG11 student on Tiny ImageNet


def test_trial_landscape_grid_on_cifar10(paper_env):
    from rtdlib import sweeps
    from rtdlib.executor import run_all
    from rtdlib.store import Store
    P = settings("05_landscapes", "paper-trial", seeds=[0], train_size=256, resolution=2, eval_size=64,
                 probe_train=64, probe_test=64, probe_epochs=[1], probe_nets=["student"])
    grid = sweeps.landscape_grids(P)["shared/interp"]
    assert grid.distill.model.arch == "resnet18" and grid.distill.model.out_dim == 65536
    (entry,) = run_all("landscape", [grid], Store(paper_env / "results"), workers=1)
    kl = entry.metrics["grids"]["kl"]
    assert len(kl) == 1 and len(kl[0]) == 2 and all(len(row) == 2 for row in kl[0])
    endpoint = Store(paper_env / "results").get("distill", grid.distill)
    assert endpoint.metrics["steps_per_epoch"] == 1 and endpoint.config["data"]["name"] == "cifar10"
