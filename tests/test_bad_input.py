"""The bad-input table (tests/bad_inputs.json): each case is one clear line, exit 2, nothing written.

Add a case by adding a row: {"id", "cmd" (python -m rtdlib arguments) or "make" (make arguments),
"expect" (a substring of the one error line), optionally "env" (environment variables of the case)}.
In arguments, {inputs} is a folder of INPUTS: a valid .npz (the README's digits, 1,438 train images),
one cut in half, and a text file named .npz. Bad input must fail before a kernel starts, so the
`python -m rtdlib` cases run one after another in a single process (this file run as a script calls
`main(argv)` for each, with its own stderr and environment); the `make` cases run make.
"""
import contextlib
import io
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "bad_inputs.json").read_text())


def snapshot(*dirs):
    """Every file and folder (lock files too) and its mtime."""
    return sorted((str(p), p.stat().st_mtime_ns) for d in dirs if d.exists() for p in d.rglob("*"))


def watched(tmp):
    """Outputs of a run (figures/, build/, results/ under tmp) and the committed figures."""
    return tmp / "root" / "figures", tmp / "root" / "build", tmp / "results", ROOT / "figures" / "quick"


def environment(tmp):
    root = tmp / "root"  # figures/ and build/ of these runs (the notebooks are this checkout's)
    root.mkdir(exist_ok=True)
    if not (root / "notebooks").exists():
        (root / "notebooks").symlink_to(ROOT / "notebooks")
    return {**os.environ, "RTD_ROOT": str(root), "RTD_RESULTS": str(tmp / "results"), "RTD_DATA": str(tmp / "data"),
            "RTD_PROGRESS": "0", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def inputs(tmp) -> Path:
    """The files the cases name as {inputs}/...: made once per run of the table."""
    import numpy as np
    from sklearn.datasets import load_digits
    folder = tmp / "inputs"
    if not folder.exists():
        folder.mkdir()
        d = load_digits()
        np.savez(folder / "digits.npz", x=(d.images * 255 / 16).round().astype(np.uint8), y=d.target)
        whole = (folder / "digits.npz").read_bytes()
        (folder / "truncated.npz").write_bytes(whole[:len(whole) // 2])
        (folder / "notnpz.npz").write_text("label,pixels\n3,0 0 0\n")
    return folder


def arguments(case, tmp):
    argv = [a.replace("{inputs}", str(inputs(tmp))) for a in case["cmd"]]
    if argv[0] == "run" and "--profile" not in argv:
        argv += ["--profile", "smoke"]  # the digits ship with scikit-learn: only the case's own data is missing
    return argv


def drive(cases, tmp):
    """{case id: exit code, stderr, whether a file was written}, each case a call of main() in this process."""
    from rtdlib.__main__ import main
    out = {}
    for case in cases:
        before = snapshot(*watched(tmp))
        err = io.StringIO()
        argv = arguments(case, tmp)
        saved = dict(os.environ)
        os.environ.update(case.get("env", {}))
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as e:
                code = e.code
            except Exception:  # not a user error: the traceback is the test's failure message
                code, _ = "crashed", err.write(traceback.format_exc())
            finally:
                os.environ.clear()
                os.environ.update(saved)
        out[case["id"]] = {"code": code, "stderr": err.getvalue(), "wrote": snapshot(*watched(tmp)) != before}
    return out


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-input")
    cases = [c for c in CASES if "cmd" in c]
    r = subprocess.run([sys.executable, __file__, str(tmp)], input=json.dumps(cases), capture_output=True,
                       text=True, timeout=600, env=environment(tmp), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert not list((tmp / "root").glob("figures/.staging-*"))  # no staging folder left behind
    return json.loads(r.stdout)


def check_one_line(code, stderr, case):
    assert code not in (0, None), stderr
    ours = [line for line in stderr.strip().splitlines() if not line.startswith("make")]
    assert len(ours) == 1, stderr
    assert case["expect"] in ours[0], ours[0]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, request, tmp_path):
    if "cmd" in case:
        got = request.getfixturevalue("outcomes")[case["id"]]
        check_one_line(got["code"], got["stderr"], case)
        assert not got["wrote"]
        return
    before = snapshot(*watched(tmp_path))
    r = subprocess.run(["make", "--no-print-directory", "-s", *case["make"]], capture_output=True, text=True,
                       timeout=300, env=environment(tmp_path), cwd=ROOT)
    check_one_line(r.returncode, r.stderr, case)
    assert snapshot(*watched(tmp_path)) == before


if __name__ == "__main__":  # the driver: cases (JSON) on stdin, outcomes (JSON) on stdout
    print(json.dumps(drive(json.load(sys.stdin), Path(sys.argv[1]))))
