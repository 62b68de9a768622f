"""Running the figure notebooks: jupytext source -> papermill under the project's kernel.

Figures are first written to a staging folder and moved into figures/<folder>/ only when the
notebook finished, so a failed notebook leaves no half-written figure behind. <folder> is the
profile's name, or for a run with overrides the profile and its overrides (`output_folder`), so an
override run never replaces the profile's own figures. Each run leaves a record (figures, overrides,
result hashes, wall time) from which figures/<folder>/MANIFEST.md is rendered. The executed notebook
goes to build/<folder>/NAME.ipynb, or NAME.failed.ipynb when the run failed.

Importing this module loads neither torch nor papermill: the command line checks its input first.
"""
from __future__ import annotations

import ast
import fcntl
import filecmp
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .config import ConfigError, canonical_json, check_choice
from .paths import project_root
from .profiles import PROFILE_NAMES, PROFILES, settings
from .progress import elapsed, lines_enabled

KERNEL = "rtdlib"
INDEX = "index"  # notebooks/index.py: the landing page in JupyterLab, not a figure notebook
INLINE = "module://matplotlib_inline.backend_inline"  # figures shown in the executed notebook (and its report)
ROOT = project_root()
NOTEBOOKS = ROOT / "notebooks"
BUILD = Path(os.environ.get("RTD_BUILD", ROOT / "build"))  # executed notebooks: build/<folder>/
FIGURES = Path(os.environ.get("RTD_FIGURES", ROOT / "figures"))  # figures/<folder>/ live here
LOCK = ".lock"  # in a staging folder: held (flock) by the run that owns it
# tables in executed notebooks (and so in the report) show whole cells: pandas cuts text at 50 characters
WHOLE_CELLS = "--IPKernelApp.exec_lines=import pandas; pandas.set_option('display.max_colwidth', None)"


class NotebookError(RuntimeError):
    pass


def available() -> list[str]:
    """The figure notebooks (every notebooks/*.py but the landing page)."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9a-z]*.py") if p.stem != INDEX)


def source(name: str) -> Path:
    check_choice("notebook", name, available())
    return NOTEBOOKS / f"{name}.py"


def parameters(name: str) -> dict:
    """Names and defaults of the notebook's `parameters` cell (literals only, read without running).

    The cell is read from the jupytext percent source directly (tests check jupytext reads the same
    cell), so checking a command line needs neither jupytext nor a kernel."""
    lines = source(name).read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%")]
    tagged = [i for i in starts if re.search(r'tags=\[[^]]*"parameters"', lines[i])]
    if len(tagged) != 1:
        raise NotebookError(f"notebook {name} has {len(tagged)} cells tagged 'parameters'; expected 1")
    end = next((i for i in starts if i > tagged[0]), len(lines))
    out = {}
    for node in ast.parse("\n".join(lines[tagged[0] + 1:end])).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise NotebookError(f"parameters cell of {name} may hold only `name = literal` lines")
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def check(name: str, profile: str, overrides: dict) -> dict | None:
    """Everything about a run's input that can fail, checked before a kernel, worker or file exists:
    the profile, the override names (the notebook's parameters), their forms and ranges
    (`profiles.settings`, no torch needed), then the run configs they make and the datasets those
    read. Returns the settings (None for a notebook without profile settings)."""
    check_choice("profile", profile, PROFILE_NAMES)
    allowed = parameters(name)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {unknown} of notebook {name}; allowed: {', '.join(sorted(allowed))}")
    if name not in PROFILES[profile]:
        return None
    P = settings(name, profile, **overrides)
    from . import data, fits
    from .plan import rounds
    from .sweeps import SWEEPS
    cfgs = [r for _, make in SWEEPS.get(name, ()) for cfg in make(P) for r in rounds(cfg)]
    for dataset in sorted({d.name for d in fits.data_cfgs(cfgs)}):
        data.require(dataset)
    for cfg in cfgs:
        fits.check(cfg)
    return P


DATASET_PARAMETERS = ("dataset", "transfer_pairs")  # notebook parameters naming datasets (or lists of them)


def absolute_datasets(overrides: dict) -> dict:
    """Overrides whose dataset names a path that exists relative to the current directory, made absolute:
    the kernel runs in notebooks/, where the same relative path would mean another file (data.dataset_path:
    a path found here is used, else the one in the data directory)."""
    from .data import DATASETS

    def resolve(value):
        if isinstance(value, list):
            return [resolve(v) for v in value]
        given = isinstance(value, str) and value not in DATASETS and Path(value).exists()
        return str(Path(value).resolve()) if given else value
    return {k: resolve(v) if k in DATASET_PARAMETERS else v for k, v in overrides.items()}


def output_folder(profile: str, overrides: dict) -> str:
    """The folder of figures/ and build/ a run writes: the profile's name, or for a run with overrides
    the profile and each override, e.g. `quick+epochs=10+seeds=0-1-2-3-4` (a name longer than 80
    characters keeps its first 60 and a hash of the overrides)."""
    given = {k: v for k, v in sorted(overrides.items()) if v is not None}
    if not given:
        return profile
    name = "+".join([profile, *(f"{k}={slug(v)}" for k, v in given.items())])
    if len(name) > 80:
        name = f"{name[:60]}-{hashlib.sha256(canonical_json(given).encode()).hexdigest()[:12]}"
    return name


def slug(value, sep="-") -> str:
    """A value as part of a file name: list items joined by '-' (nested ones by ','), other characters
    than letters, digits and . _ - as '_'."""
    if isinstance(value, dict):
        value = [[k, v] for k, v in sorted(value.items())]
    if isinstance(value, (list, tuple)):
        return sep.join(slug(v, ",") for v in value)
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(value))


def run(name: str, profile: str = "quick", kernel: str = KERNEL, log_output=False, **overrides) -> list[Path]:
    """Check the input, then execute a notebook; returns the figure files it produced (moved into
    figures/<output_folder>/)."""
    check(name, profile, overrides)
    return execute(name, profile, kernel, log_output, **overrides)


def execute(name: str, profile: str, kernel: str = KERNEL, log_output=False, folder: str | None = None,
            **overrides) -> list[Path]:
    """`run` for input that `check` accepted; `folder` (default output_folder) names figures/<folder>/."""
    import jupytext
    import papermill as pm

    from .store import atomic_write, json_bytes, results_dir
    folder = folder or output_folder(profile, overrides)
    out_dir = FIGURES / folder
    executed = BUILD / folder / f"{name}.ipynb"
    failed = executed.with_suffix(".failed.ipynb")  # a failed run's notebook: where it stopped, and why
    running = executed.with_name(f".{name}.running-{os.getpid()}.ipynb")
    executed.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_runs(executed.parent, name)
    with staging_folder(name) as staging:
        used_log = staging / "used-results.txt"
        env = {"RTD_FIGURES_DIR": str(staging), "RTD_USED_LOG": str(used_log), "RTD_ROOT": str(ROOT),
               "RTD_RESULTS": str(results_dir()), "RTD_DATA": os.environ.get("RTD_DATA", str(ROOT / "data")),
               "MPLBACKEND": INLINE, "RTD_PROGRESS_LOG": str(staging / "progress.log") if lines_enabled() else ""}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # the kernel inherits this process's environment
        started = time.time()
        try:
            with progress_to_terminal(staging / "progress.log", f"[{folder}] {name}"), \
                    kernel_stderr_to(log_of(running), enabled=not log_output):
                pm.execute_notebook(jupytext.read(source(name)), str(running),
                                    parameters={"profile": profile, **overrides}, kernel_name=kernel,
                                    language="python", progress_bar=False, log_output=log_output,
                                    cwd=str(NOTEBOOKS), extra_arguments=["--IPKernelApp.log_level=ERROR", WHOLE_CELLS])
            produced = sorted(p for p in staging.iterdir()
                              if p.suffix in (".png", ".pdf", ".csv") or p.name == f"claims_{name}.json")
            if not produced:
                raise NotebookError(f"notebook {name} finished but saved no figure (executed copy: {failed})")
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):  # not a failure: nothing to keep (the store resumes the runs)
                for path in (running, log_of(running)):
                    path.unlink(missing_ok=True)
                raise
            settle(running, failed)
            if isinstance(e, pm.PapermillExecutionError):
                raise NotebookError(f"notebook {name} failed in cell {e.exec_count}: {e.ename}: {e.evalue} "
                                    f"(executed copy: {failed})") from None
            raise
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        settle(running, executed)
        for stale in (failed, log_of(failed)):  # an earlier failure's log no longer describes these figures
            stale.unlink(missing_ok=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        redrawn = all(filecmp.cmp(p, out_dir / p.name, shallow=False) for p in produced if (out_dir / p.name).is_file())
        moved = []
        for p in produced:
            os.replace(p, out_dir / p.name)
            moved.append(out_dir / p.name)
        used = [line.split() for line in used_log.read_text().splitlines()] if used_log.exists() else []
    record = {"notebook": name, "profile": profile, "overrides": overrides, "inputs": inputs_digest(name),
              "figures": [p.name for p in moved],
              "results": sorted({h for h, _ in used}), "computed": sorted({h for h, s in used if s == "computed"}),
              "wall_time_s": round(time.time() - started, 1),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    record_path = out_dir / ".runs" / f"{name}.json"
    if not (redrawn and same_run(record_path, record)):  # else the old record still says how they were made
        record_path.parent.mkdir(exist_ok=True)
        atomic_write(record_path, json_bytes(record))
        write_manifest(folder)
    for line in store_warnings(executed):
        print(f"warning: {name}: {line}", file=sys.stderr, flush=True)
    return moved


TIMINGS = ("wall_time_s", "finished")  # what differs between two runs that agree in everything else


def same_run(record_path: Path, record: dict) -> bool:
    """Whether the run recorded at record_path agrees with this one in all but its timings: same sources,
    overrides and figures, the same results read and computed (a redraw then leaves the record, its MANIFEST.md
    and so git status unchanged)."""
    try:
        old = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return False
    return {k: v for k, v in old.items() if k not in TIMINGS} == {k: v for k, v in record.items() if k not in TIMINGS}


def log_of(notebook: Path) -> Path:
    """The kernel's stderr log beside an executed notebook."""
    return notebook.with_suffix(".stderr.log")


def settle(running: Path, final: Path) -> None:
    """Give an executed notebook and its stderr log their final names (replacing older ones)."""
    for src, dst in ((running, final), (log_of(running), log_of(final))):
        if src.exists():
            os.replace(src, dst)
        else:
            dst.unlink(missing_ok=True)


def remove_dead_runs(build: Path, name: str) -> None:
    """Notebooks being executed by a process that is gone (killed): no one will finish them."""
    for p in build.glob(f".{name}.running-*"):
        pid = p.name.split("running-")[1].split(".")[0]
        if not (pid.isdigit() and pid_alive(int(pid))):
            p.unlink(missing_ok=True)


def store_warnings(executed: Path) -> list[str]:
    """The store's damage warnings (DamagedEntryWarning) from a run, which would otherwise stay in the
    executed notebook's cell outputs (kernel) and its stderr log (worker processes)."""
    import re
    texts = [out.get("text", "") for cell in json.loads(executed.read_text())["cells"]
             for out in cell.get("outputs", []) if out.get("name") == "stderr"]
    log = executed.with_suffix(".stderr.log")
    texts += [log.read_text(errors="replace")] if log.exists() else []
    found = re.findall(r"DamagedEntryWarning: (.*)", "".join(t if isinstance(t, str) else "".join(t) for t in texts))
    return list(dict.fromkeys(found))


def inputs_digest(name: str) -> str:
    """sha256 over what a notebook's figures are made from besides the results: its source and every
    source and profile file of rtdlib (any code change re-executes every notebook)."""
    import hashlib
    h = hashlib.sha256(source(name).read_bytes())
    package = Path(__file__).resolve().parent
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.json")]):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def up_to_date(name: str, profile: str) -> dict | None:
    """The last run's record if re-executing the notebook could not change its figures: made without
    overrides from the same notebook and library sources, every figure still present, and every
    result it read still intact in the store. Else None."""
    from .store import Store
    record_path = FIGURES / profile / ".runs" / f"{name}.json"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("overrides") or record.get("inputs") != inputs_digest(name):
        return None
    if not all((FIGURES / profile / f).is_file() for f in record["figures"]):
        return None
    store = Store()
    for entry in record["results"]:
        kind, _, digest = entry.partition("/")
        if not store.intact(kind, digest):
            return None
    return record


@contextmanager
def progress_to_terminal(path: Path, prefix: str):
    """Print the lines the kernel and its workers append to `path` (rtdlib.progress) to this process's
    stderr as they arrive, while the kernel's own stderr goes to a log (kernel_stderr_to)."""
    import threading
    if not lines_enabled():
        yield
        return
    terminal = os.fdopen(os.dup(2), "w", buffering=1)  # fd 2 itself is redirected during the run
    done, started = threading.Event(), time.monotonic()

    def follow():
        offset, partial = 0, b""
        while True:
            finished = done.wait(1.0)
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    chunk = f.read()
            except FileNotFoundError:
                chunk = b""
            offset += len(chunk)
            *lines, partial = (partial + chunk).split(b"\n")
            for text in lines:
                terminal.write(f"{prefix} {elapsed(time.monotonic() - started)}  {text.decode(errors='replace')}\n")
            if finished:
                return

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        terminal.close()


@contextmanager
def kernel_stderr_to(path: Path, enabled=True):
    """Send what the kernel process writes to stderr (asyncio shutdown noise, warnings) to a log file.

    The kernel inherits file descriptor 2, so it is redirected for the duration of the run; our own
    error message is printed after it is restored and stays one line.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextmanager
def staging_folder(name: str):
    """A fresh folder for a run's figures, removed at the end. Its lock file is locked before it gets
    its name, so while the folder's owner lives its lock is held (see remove_stale_staging)."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    remove_stale_staging()
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-{name}-", dir=FIGURES))
    fd = os.open(staging / f"{LOCK}.new", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the OS when this process dies, however it dies
        os.rename(staging / f"{LOCK}.new", staging / LOCK)
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        os.close(fd)


def remove_stale_staging() -> None:
    """Staging folders of runs whose process is gone (killed) hold nothing anyone will use."""
    for d in FIGURES.glob(".staging-*"):
        if not staging_owner_alive(d):
            shutil.rmtree(d, ignore_errors=True)


def staging_owner_alive(folder: Path) -> bool:
    """Whether the run that made a staging folder still runs: its lock is held (a process id alone
    may have been reused since). Without a lock file, the owner is between making the folder and
    locking it, or died there: then its process id decides. Portable: no /proc (macOS has none)."""
    try:
        fd = os.open(folder / LOCK, os.O_RDWR)
    except FileNotFoundError:
        pid = folder.name.split("-")[1]
        return pid.isdigit() and pid_alive(int(pid))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists: signal 0 is checked, not sent (PermissionError: it
    exists but belongs to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_manifest(folder: str) -> Path:
    """figures/<folder>/MANIFEST.md from the folder's run records; a folder of override runs lists
    each notebook's overrides."""
    from .store import atomic_write
    out_dir = FIGURES / folder
    records = [json.loads(p.read_text()) for p in sorted((out_dir / ".runs").glob("*.json"))]
    profile = folder.partition("+")[0]
    if folder == profile:
        lines = [f"# Figures of the `{profile}` profile", "",
                 f"Generated by `make figures PROFILE={profile}`; result hashes name folders of `results/<kind>/`."]
    else:
        lines = [f"# Figures of the `{profile}` profile with overrides", "",
                 f"Generated by `python -m rtdlib run NOTEBOOK --profile {profile}` with each row's overrides "
                 f"(`-p NAME=VALUE`); the profile's own figures are in `figures/{profile}/`. Result hashes name "
                 f"folders of `results/<kind>/`."]
    overridden = folder != profile
    lines += ["", "| figure | notebook |" + (" overrides |" if overridden else "")
              + " wall time (s) | results computed / used | finished | result hashes |",
              "|---|---|" + ("---|" if overridden else "") + "---|---|---|---|"]
    for r in records:
        given = " ".join(f"`-p {k}={json.dumps(v, separators=(',', ':'))}`" for k, v in r["overrides"].items())
        for fig in r["figures"]:
            lines.append(f"| {fig} | notebooks/{r['notebook']}.py |" + (f" {given} |" if overridden else "")
                         + f" {r['wall_time_s']} | {len(r.get('computed', []))} / {len(r['results'])} | "
                         f"{r['finished']} | {' '.join(h.split('/')[-1][:8] for h in r['results'])} |")
    path = out_dir / "MANIFEST.md"
    atomic_write(path, ("\n".join(lines) + "\n").encode())
    from . import summary  # lazily: it imports matplotlib
    summary.render(profile, out_dir)  # SUMMARY.md from the notebooks' claims_<notebook>.json beside it
    return path
