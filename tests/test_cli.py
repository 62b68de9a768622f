"""The command line and the parameter checks behind it (no kernel starts here)."""
import json
import subprocess
import sys

import pytest

from rtdlib import notebooks
from rtdlib.__main__ import main, parse_params, parser
from rtdlib.config import ConfigError
from rtdlib.profiles import PROFILE_NAMES, PROFILES, settings


def test_run_and_figures_default_to_the_profile_the_readme_names():
    assert parser().parse_args(["run", "01_student_vs_teacher"]).profile == "quick"
    assert parser().parse_args(["figures"]).profile == "quick"
    assert "| `quick` (default) |" in (notebooks.ROOT / "README.md").read_text()


def test_parameters_are_python_literals_with_tuples_as_lists():
    got = parse_params(["seeds=0,1,2", "archs=(('small_vgg', 'none', 8),)", "dataset=digits", "epochs=None"])
    assert got == {"seeds": [0, 1, 2], "archs": [["small_vgg", "none", 8]], "dataset": "digits", "epochs": None}
    assert settings("01_student_vs_teacher", "smoke", **got)["seeds"] == [0, 1, 2]


def test_usage_errors_load_neither_torch_nor_papermill():
    """Each bad command line is refused before the heavy imports (which take seconds)."""
    cases = [["run", "01_student_vs_teacher", "-p", "epochs=1.5"], ["run", "01_student_vs_teacher", "-p", "seeds=[0,0]"],
             ["run", "01_student_vs_teacher", "-p", "profile=paper"], ["run", "99_nope"], ["figures", "--only"],
             ["figures", "--profile", "huge"], ["params", "01_student_vs_teacher", "--profile", "huge"]]
    code = ("import contextlib, io, json, sys\nfrom rtdlib.__main__ import main\ncodes = []\n"
            "for argv in json.loads(sys.argv[1]):\n"
            "    with contextlib.redirect_stderr(io.StringIO()):\n"
            "        try:\n            codes.append(main(argv))\n"
            "        except SystemExit as e:\n            codes.append(e.code)\n"
            "print(json.dumps([codes, sorted(m for m in ('torch', 'jupytext', 'papermill') if m in sys.modules)]))")
    r = subprocess.run([sys.executable, "-c", code, json.dumps(cases)], capture_output=True, text=True, timeout=120)
    assert json.loads(r.stdout) == [[2] * len(cases), []], r.stderr


def test_params_prints_type_values_and_range(capsys):
    assert main(["params", "01_student_vs_teacher"]) == 0
    out = capsys.readouterr().out
    assert "  seeds: list of int; each number in [0, inf); distinct, at least one\n    smoke: [0, 1]\n" in out
    assert "  probe_epochs: list of int; each number in [0, epochs]" in out
    assert "  archs: list of [str, str, int]" in out and "  train_size: int or None; in [1, inf)" in out
    assert main(["params", "02_locality", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "    paper: [0, 1, 2]" in out and "smoke:" not in out


@pytest.mark.parametrize("notebook", sorted(PROFILES["quick"]))
def test_every_profile_passes_its_own_checks(notebook):
    for profile in PROFILE_NAMES:
        values = PROFILES[profile][notebook]
        assert settings(notebook, profile, **values) == values


def test_overrides_are_checked_against_the_merged_settings():
    own = PROFILES["quick"]["01_student_vs_teacher"]["probe_epochs"]
    assert settings("01_student_vs_teacher", "quick", epochs=2)["probe_epochs"] == own  # trimmed in sweeps
    with pytest.raises(ConfigError, match=r"probe_epochs\[1\] = 3 is outside \[0, 2\] \(epochs = 2\)"):
        settings("01_student_vs_teacher", "quick", epochs=2, probe_epochs=[0, 3])
    head = settings("01_student_vs_teacher", "smoke", head={"out_dim": 8})["head"]
    assert head == {"out_dim": 8, "hidden_dim": 128, "bottleneck_dim": 32}  # a dict override changes what it names
    alphas = settings("02_locality", "smoke", alphas=[0, 1])["alphas"]
    assert alphas == [0.0, 1.0] and all(type(a) is float for a in alphas)  # the profile's 0.0, 1.0: same store keys
    with pytest.raises(ConfigError, match=r"lines\[0\]\[1\] = 3 is outside \[0, 2\] \(epochs = 2\)"):
        settings("06_lottery", "smoke", lines=[["init", 3]])
    with pytest.raises(ConfigError, match="expected int or None like 512"):
        settings("01_student_vs_teacher", "smoke", train_size="all")


def test_override_folders_are_readable_distinct_and_safe():
    assert notebooks.output_folder("quick", {}) == "quick"
    assert notebooks.output_folder("quick", {"seeds": None}) == "quick"
    assert notebooks.output_folder("quick", {"seeds": [0, 1, 2, 3, 4], "epochs": 10}) == "quick+epochs=10+seeds=0-1-2-3-4"
    assert (notebooks.output_folder("smoke", {"archs": [["small_vgg", "none", 8]], "head": {"out_dim": 8}})
            == "smoke+archs=small_vgg,none,8+head=out_dim,8")
    long = [notebooks.output_folder("paper", {"seeds": list(range(n, n + 40))}) for n in (0, 1)]
    assert long[0] != long[1] and all(len(f) <= 80 for f in long) and long[0].startswith("paper+seeds=0-1-2-")
    assert notebooks.output_folder("quick", {"dataset": "../x y"}) == "quick+dataset=.._x_y"


def test_a_dataset_path_found_in_the_current_directory_reaches_the_kernel_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_digits.npz").write_bytes(b"")
    (tmp_path / "digits").mkdir()  # a built-in name stays the built-in dataset
    given = {"dataset": "my_digits.npz", "epochs": 2, "transfer_pairs": [["my_digits.npz", "digits"]]}
    mine = str(tmp_path / "my_digits.npz")
    assert notebooks.absolute_datasets(given) == {"dataset": mine, "epochs": 2, "transfer_pairs": [[mine, "digits"]]}
    assert notebooks.absolute_datasets({"dataset": "in_data.npz"}) == {"dataset": "in_data.npz"}  # data/ decides


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_profiles_runs_fit_their_datasets(profile):
    """Subset sizes, batches and ViT image sizes of every run a profile plans (no data needed: built-in sizes)."""
    from rtdlib import fits
    from rtdlib.plan import rounds
    from rtdlib.sweeps import SWEEPS
    checked = 0
    for name, values in PROFILES[profile].items():
        for _, make in SWEEPS.get(name, ()):
            for cfg in make(settings(name, profile, **values)):
                for r in rounds(cfg):
                    fits.check(r)
                    checked += 1
    assert checked > 100
