"""Running the figure notebooks: jupytext source -> papermill under the project's kernel.

Figures are first written to a staging folder and moved into figures/<profile>/ only when the
notebook finished, so a failed notebook leaves no half-written figure behind. Each run leaves a
record (figures, result hashes, wall time) from which figures/<profile>/MANIFEST.md is rendered.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .config import ConfigError, check_choice
from .profiles import PROFILE_NAMES, PROFILES, settings
from .progress import elapsed, lines_enabled
from .store import atomic_write, json_bytes, project_root, results_dir
from .sweeps import SWEEPS

KERNEL = "rtdlib"
INDEX = "index"  # notebooks/index.py: the landing page in JupyterLab, not a figure notebook
INLINE = "module://matplotlib_inline.backend_inline"  # figures shown in the executed notebook (and its report)
ROOT = project_root()
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build"
FIGURES = Path(os.environ.get("RTD_FIGURES", ROOT / "figures"))  # figures/<profile>/ live here


class NotebookError(RuntimeError):
    pass


def available() -> list[str]:
    """The figure notebooks (every notebooks/*.py but the landing page)."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9a-z]*.py") if p.stem != INDEX)


def source(name: str) -> Path:
    check_choice("notebook", name, available())
    return NOTEBOOKS / f"{name}.py"


def parameters(name: str) -> dict:
    """Names and defaults of the notebook's `parameters` cell (literals only, read without running)."""
    import jupytext
    nb = jupytext.read(source(name))
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise NotebookError(f"notebook {name} has {len(cells)} cells tagged 'parameters'; expected 1")
    out = {}
    for node in ast.parse(cells[0].source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise NotebookError(f"parameters cell of {name} may hold only `name = literal` lines")
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def run(name: str, profile: str = "quick", kernel: str = KERNEL, log_output=False, **overrides) -> list[Path]:
    """Execute a notebook; returns the figure files it produced (moved into figures/<profile>/)."""
    import jupytext
    import papermill as pm
    check_choice("profile", profile, PROFILE_NAMES)
    allowed = parameters(name)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {unknown} of notebook {name}; allowed: {', '.join(sorted(allowed))}")
    if name in PROFILES[profile]:  # check names, types, values and data before a kernel starts
        P = settings(name, profile, **overrides)
        from . import data
        for dataset in sorted({d.name for _, make in SWEEPS.get(name, ()) for d in data_cfgs(make(P))}):
            data.require(dataset)
    out_dir = FIGURES / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging()
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-{name}-", dir=FIGURES))
    used_log = staging / "used-results.txt"
    env = {"RTD_FIGURES_DIR": str(staging), "RTD_USED_LOG": str(used_log), "RTD_ROOT": str(ROOT),
           "RTD_RESULTS": str(results_dir()), "RTD_DATA": os.environ.get("RTD_DATA", str(ROOT / "data")),
           "MPLBACKEND": INLINE, "RTD_PROGRESS_LOG": str(staging / "progress.log") if lines_enabled() else ""}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    executed = BUILD / profile / f"{name}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        with progress_to_terminal(staging / "progress.log", f"[{profile}] {name}"), \
                kernel_stderr_to(executed.with_suffix(".stderr.log"), enabled=not log_output):
            pm.execute_notebook(jupytext.read(source(name)), str(executed),
                                parameters={"profile": profile, **overrides}, kernel_name=kernel, language="python",
                                progress_bar=False, log_output=log_output, cwd=str(NOTEBOOKS),
                                extra_arguments=["--IPKernelApp.log_level=ERROR"])
        produced = sorted(p for p in staging.iterdir()
                          if p.suffix in (".png", ".pdf", ".csv") or p.name == f"claims_{name}.json")
        if not produced:
            raise NotebookError(f"notebook {name} finished but saved no figure")
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
        (out_dir / ".runs").mkdir(exist_ok=True)
        atomic_write(out_dir / ".runs" / f"{name}.json", json_bytes(record))
        write_manifest(profile)
        for line in store_warnings(executed):
            print(f"warning: {name}: {line}", file=sys.stderr, flush=True)
        return moved
    except pm.PapermillExecutionError as e:
        raise NotebookError(f"notebook {name} failed in cell {e.exec_count}: {e.ename}: {e.evalue} "
                            f"(executed copy: {executed})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def data_cfgs(obj):
    """Every DataCfg inside a config, or lists and dicts of configs."""
    import dataclasses
    from .config import DataCfg
    if isinstance(obj, DataCfg):
        yield obj
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from data_cfgs(getattr(obj, f.name))
    elif isinstance(obj, (list, tuple, dict)):
        for v in (obj.values() if isinstance(obj, dict) else obj):
            yield from data_cfgs(v)


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


def remove_stale_staging() -> None:
    """Staging folders of runs whose process is gone (killed) hold nothing anyone will use."""
    for d in FIGURES.glob(".staging-*"):
        pid = d.name.split("-")[1]
        if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
            shutil.rmtree(d, ignore_errors=True)


def write_manifest(profile: str) -> Path:
    out_dir = FIGURES / profile
    records = [json.loads(p.read_text()) for p in sorted((out_dir / ".runs").glob("*.json"))]
    lines = [f"# Figures of the `{profile}` profile", "",
             "Generated by `make figures PROFILE=" + profile + "`; result hashes name folders of `results/<kind>/`.",
             "", "| figure | notebook | wall time (s) | results computed / used | finished | result hashes |",
             "|---|---|---|---|---|---|"]
    for r in records:
        for fig in r["figures"]:
            lines.append(f"| {fig} | notebooks/{r['notebook']}.py | {r['wall_time_s']} | "
                         f"{len(r.get('computed', []))} / {len(r['results'])} | {r['finished']} | "
                         f"{' '.join(h.split('/')[-1][:8] for h in r['results'])} |")
    path = out_dir / "MANIFEST.md"
    atomic_write(path, ("\n".join(lines) + "\n").encode())
    from . import summary  # lazily: it imports matplotlib
    summary.render(profile, out_dir)  # SUMMARY.md from the notebooks' claims_<notebook>.json beside it
    return path
