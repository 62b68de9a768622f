"""Mutation testing of one module with mutmut: `make mutate MODULE=rtdlib/probe.py` (docs/testing.md).

mutmut takes its settings from the pyproject.toml of the folder it runs in, so every module gets its own
folder build/mutate/<module>/: links to rtdlib/ and tests/ and a pyproject.toml whose [tool.mutmut] names the
module and the fast test files that are meant to catch its bugs (TESTS). A run starts afresh, so its scores
describe the tests as they are; `--again` (make mutate ... AGAIN=1) instead reruns only the mutants the last
run did not kill, against the tests as they are now (for adding tests; the module's code must be unchanged).
Results stay in that folder (`mutmut show NAME` there prints a mutant's diff); every mutant not killed is
printed, and the summary is written to build/mutate/<module>/score.json.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# each module whose bugs change the figures, and the test files written to catch them
TESTS = {
    "rtdlib/probe.py": ["tests/test_probe.py"],
    "rtdlib/stats.py": ["tests/test_stats.py"],
    "rtdlib/distill.py": ["tests/test_distill.py"],
    "rtdlib/init.py": ["tests/test_init.py"],
    "rtdlib/supervised.py": ["tests/test_supervised.py", "tests/test_lottery.py"],  # the latter: the recipe
    "rtdlib/lottery.py": ["tests/test_lottery.py"],
    "rtdlib/connectivity.py": ["tests/test_connectivity.py"],
    "rtdlib/landscape.py": ["tests/test_landscape.py"],
    "rtdlib/peers.py": ["tests/test_peers.py"],
    "rtdlib/data.py": ["tests/test_data.py", "tests/test_own_data.py"],
    "rtdlib/claims/engine.py": ["tests/test_claims.py"],
    "rtdlib/claims/judge.py": ["tests/test_claims.py", "tests/test_claims_declared.py"],
}

# tests that start `python -m rtdlib` in another folder: there mutmut's trampolines find no configuration and
# the child fails ("Could not figure out where the code to mutate is"), so mutmut cannot map the tests
SUBPROCESS_TESTS = {"rtdlib/data.py": ["tests/test_own_data.py::test_distill_command_end_to_end"]}


def config(module: str) -> str:
    """The [tool.mutmut] table of one module's run."""
    tests = ", ".join([f'"{t}"' for t in TESTS[module]]
                      + [f'"--deselect={t}"' for t in SUBPROCESS_TESTS.get(module, [])])
    return (f'[tool.mutmut]\nsource_paths = ["rtdlib"]\nonly_mutate = ["{module}"]\n'
            f'pytest_add_cli_args_test_selection = [{tests}]\npytest_add_cli_args = ["-p", "no:cacheprovider"]\n'
            # mutmut's setting for libraries that are not fork-safe (torch): mutants run in children of a clean server
            'process_isolation = "forkserver"\n')


def not_killed(mutmut, work, env) -> list[str]:
    """"name: status" of every mutant that survived, had no test reaching it, or timed out."""
    out = subprocess.run([*mutmut, "results"], cwd=work, env=env, check=True, capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def main(argv: list[str]) -> int:
    again = "--again" in argv
    argv = [a for a in argv if a != "--again"]
    if len(argv) != 1 or argv[0] not in TESTS:
        print(f"usage: make mutate MODULE=... [AGAIN=1]; allowed modules: {', '.join(TESTS)}", file=sys.stderr)
        return 2
    module = argv[0]
    missing = [t for t in TESTS[module] + [module] if not (ROOT / t).is_file()]
    if missing:
        print(f"cannot mutate {module}: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    work = ROOT / "build" / "mutate" / Path(module).stem
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut puts its mutated copy first itself
    env.setdefault("RTD_DATA", str(ROOT / "data"))
    mutmut = [sys.executable, "-c", "import sys; from mutmut.__main__ import cli; sys.exit(cli())"]
    names = []
    if again:
        if not (work / "mutants").is_dir():
            print(f"no earlier run of {module} to continue; run without AGAIN=1 first", file=sys.stderr)
            return 2
        names = [line.split(":")[0] for line in not_killed(mutmut, work, env)]
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for name in ("rtdlib", "tests"):
            (work / name).symlink_to(ROOT / name)
        (work / "pyproject.toml").write_text(config(module))
    if not again or names:
        run = subprocess.run([*mutmut, "run", "--max-children", os.environ.get("MUTATE_JOBS", "1"), *names],
                             cwd=work, env=env)
        if run.returncode:
            return run.returncode
    subprocess.run([*mutmut, "export-cicd-stats"], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    survivors = not_killed(mutmut, work, env)
    tested = stats["killed"] + stats["survived"] + stats["timeout"] + stats["suspicious"]
    score = {"module": module, "tests": TESTS[module], **stats,
             "killed_percent": round(100 * (stats["killed"] + stats["timeout"]) / max(tested, 1), 1),
             "not_killed": survivors}
    (work / "score.json").write_text(json.dumps(score, indent=1) + "\n")
    print("\n".join(survivors))
    print(f"{module}: {stats['killed'] + stats['timeout']} of {tested} mutants killed "
          f"({score['killed_percent']}%); {stats['no_tests']} not reached by its tests; "
          f"diffs: cd {work.relative_to(ROOT)} && mutmut show NAME")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
