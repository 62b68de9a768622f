"""The results store: one folder per (kind, config hash), written atomically, verified on read.

results/<kind>/<hash>/
    config.json  meta.json  metrics.json  <artifact>.pt ...   final files, listed with sha256 in
    COMPLETE                                                   the completion marker written last
    ckpt-<sha>.pt                                              resumable progress, removed at the end

A lock file beside the folder makes a second process wait rather than compute the same entry.
A damaged entry (a listed file missing or changed) is removed and recomputed with a warning.

Published layers (published/<profile>/<kind>/<hash>/, committed to git; see rtdlib/publish.py) are read
as if they were in results/, which wins when both hold an entry. A published entry keeps config, metrics
and meta only (its PUBLISHED marker lists them with sha256, and what it omitted); loading an omitted
artifact (a student's weights, say) recomputes the entry into results/. Published entries are never
written or removed here: a damaged one is ignored with a warning.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch

from .config import canonical_json, config_hash, default_device, native_bf16, to_dict
from .hardware import fingerprint
from .kinds import engine
from .paths import project_root

MARKER = "COMPLETE"
PUBLISHED = "PUBLISHED"  # a published entry's marker: {"files": {kept: sha256}, "omitted": {artifact: sha256}}


class StoreError(RuntimeError):
    """The store cannot be written or read; the message names the path and the cause."""


class DamagedEntryWarning(UserWarning):
    pass


def results_dir() -> Path:
    return Path(os.environ.get("RTD_RESULTS", project_root() / "results")).resolve()


def require_writable_results() -> Path:
    """The results directory, created if missing, once a file could be made in it; else a StoreError naming
    it (checked before a notebook's kernel starts, like every other setting)."""
    root = results_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".writable-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise StoreError(f"cannot write in the results directory {root} (RTD_RESULTS): {e.strerror}; allowed: "
                         f"a folder this user can write") from None
    return root


def published_root() -> Path | None:
    """The folder of published layers: RTD_PUBLISHED (empty: none), else this repository's published/."""
    env = os.environ.get("RTD_PUBLISHED")
    if env is not None:
        return Path(env).resolve() if env else None
    return Path(__file__).resolve().parent.parent / "published"


def published_layers() -> list[Path]:
    """Every published/<profile>/ folder (entries are named by config hash, so profiles never collide)."""
    root = published_root()
    if not (root and root.is_dir()):
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise StoreError(f"cannot write in {path.parent}: {e.strerror}") from e
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would make every output private
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise StoreError(f"cannot write {path}: {e.strerror}") from e
        raise


def current_umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def torch_load(path: Path):
    return torch.load(path, map_location="cpu", weights_only=True)


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()


def git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, timeout=10)
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if rev.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass(frozen=True)
class Result:
    kind: str
    hash: str
    path: Path
    config: dict
    metrics: dict
    meta: dict
    # a published entry's: computes the full entry into results/ (for artifacts a published entry omits)
    recompute: Callable[[], "Result"] | None = field(default=None, compare=False, repr=False)

    def load(self, name: str):
        """An artifact saved by the run (tensors, dicts of tensors), loaded with weights_only=True."""
        path = self.path / f"{name}.pt"
        if self.recompute and not path.exists():
            return self.recompute().load(name)
        return torch_load(path)


class Run:
    """What an engine sees of its entry: resume, checkpoint, save artifacts."""

    def __init__(self, path: Path):
        self.path = path
        self.artifacts: dict[str, str] = {}

    def resume(self):
        """The last checkpoint's state, or None; a damaged checkpoint is discarded with a warning."""
        for ckpt in sorted(self.path.glob("ckpt-*.pt"), key=lambda p: p.stat().st_mtime, reverse=True):
            data = ckpt.read_bytes()
            if sha256_bytes(data)[:16] == ckpt.stem.split("-", 1)[1]:
                return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            warnings.warn(f"damaged checkpoint {ckpt} (checksum mismatch); starting over", DamagedEntryWarning)
            ckpt.unlink()
        return None

    def checkpoint(self, state) -> None:
        data = torch_bytes(state)
        target = self.path / f"ckpt-{sha256_bytes(data)[:16]}.pt"
        atomic_write(target, data)
        for old in self.path.glob("ckpt-*.pt"):
            if old != target:
                old.unlink(missing_ok=True)

    def save(self, name: str, obj) -> None:
        data = torch_bytes(obj)
        atomic_write(self.path / f"{name}.pt", data)
        self.artifacts[f"{name}.pt"] = sha256_bytes(data)


class Store:
    def __init__(self, root: Path | str | None = None, published: list[Path] | None = None):
        """published: the read-only layers behind root (default: published_layers())."""
        self.root = Path(root).resolve() if root else results_dir()
        self.layers = published_layers() if published is None else [Path(p).resolve() for p in published]

    def path(self, kind: str, cfg) -> Path:
        return self.root / kind / config_hash(kind, cfg)

    def intact(self, kind: str, digest: str) -> bool:
        """Whether the entry <kind>/<digest> is finished and passes its checksums (here or published)."""
        return (self._read(kind, self.root / kind / digest) is not None
                or any(self._read_published(kind, layer / kind / digest) for layer in self.layers))

    def get(self, kind: str, cfg) -> Result | None:
        """The finished entry for cfg if it exists and is intact (here, else published), else None."""
        return self._read(kind, self.path(kind, cfg)) or self._published(kind, cfg, None)

    def get_or_run(self, kind: str, cfg, fn) -> Result:
        """Return the stored result for cfg, computing `fn(cfg, run) -> metrics dict` if needed."""
        result, computed = self._get_or_run(kind, cfg, fn)
        self.log_use(result, computed)
        return result

    @staticmethod
    def log_use(result: Result, computed: bool) -> None:
        """Append "kind/hash computed|cached" to RTD_USED_LOG (set by the notebook runner for the manifest)."""
        used_log = os.environ.get("RTD_USED_LOG")
        if used_log:
            with open(used_log, "a") as f:
                f.write(f"{result.kind}/{result.hash} {'computed' if computed else 'cached'}\n")

    def _get_or_run(self, kind: str, cfg, fn) -> tuple[Result, bool]:
        found = self._read(kind, self.path(kind, cfg)) or self._published(kind, cfg, fn)
        if found:
            return found, False
        return self._compute(kind, cfg, fn)

    def _published(self, kind: str, cfg, fn) -> Result | None:
        """The first published layer's intact entry for cfg; loading an artifact it omits computes the
        entry here with fn (default: the kind's engine)."""
        def recompute() -> Result:
            with using_threads(threads_of(found.meta)):  # as published: same reduction order, same weights
                result, computed = self._compute(kind, cfg, fn or engine(kind))
            self.log_use(result, computed)
            return result
        digest = config_hash(kind, cfg)
        for layer in self.layers:
            found = self._read_published(kind, layer / kind / digest)
            if found:
                return replace(found, recompute=recompute)
        return None

    def _read_published(self, kind, path: Path) -> Result | None:
        if not (path / PUBLISHED).exists():
            return None
        result, problem = self._verify(kind, path, PUBLISHED)
        if problem:
            warnings.warn(f"damaged published entry {path}: {problem}; ignoring it (`git checkout -- {path}` "
                          f"restores it)", DamagedEntryWarning)
        return result

    def _compute(self, kind: str, cfg, fn) -> tuple[Result, bool]:
        """The entry for cfg in this store (root), computed under its lock unless another process has."""
        path = self.path(kind, cfg)
        with self._lock(path):
            found = self._read(kind, path, locked=True)  # another process may have finished it
            if found:
                return found, False
            for junk in path.glob(".*.tmp"):  # a killed writer's; we hold the lock, so nobody is writing it
                junk.unlink(missing_ok=True)
            leftovers = sorted(p.name for p in path.glob("*") if not p.name.startswith(("ckpt-", ".")))
            if leftovers:  # final files but no marker: finished by hand or by a foreign tool, or tampered with
                warnings.warn(f"incomplete store entry {path}: {', '.join(leftovers)} but no {MARKER} marker; "
                              f"recomputing it", DamagedEntryWarning)
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create {path}: {e.strerror}") from e
            run = Run(path)
            started = time.time()
            metrics = fn(cfg, run)
            files = {"config.json": json_bytes(to_dict(cfg)), "metrics.json": json_bytes(metrics),
                     "meta.json": json_bytes(self._meta(kind, cfg, time.time() - started))}
            for name, data in files.items():
                atomic_write(path / name, data)
            listing = {name: sha256_bytes(data) for name, data in files.items()} | run.artifacts
            atomic_write(path / MARKER, json_bytes(listing))
            for old in path.glob("ckpt-*.pt"):
                old.unlink(missing_ok=True)
            return self._read(kind, path), True

    def _read(self, kind, path: Path, locked=False) -> Result | None:
        """The entry at path if finished and intact; a damaged one is removed (under its lock, so a
        process recomputing it meanwhile loses nothing) and None returned."""
        marker = path / MARKER
        if not marker.exists():
            return None
        result, problem = self._verify(kind, path)
        if result:
            return result
        if not locked:
            with self._lock(path):  # re-check: another process may have replaced it meanwhile
                return self._read(kind, path, locked=True)
        warnings.warn(f"damaged store entry {path}: {problem}; recomputing it", DamagedEntryWarning)
        self._discard(path)
        return None

    @staticmethod
    def _verify(kind, path: Path, marker: str = MARKER) -> tuple[Result | None, str | None]:
        """A marked entry as a Result if every listed file is present and matches its checksum, else
        (None, what is wrong)."""
        try:
            listing = json.loads((path / marker).read_text())
            listing = listing["files"] if marker == PUBLISHED else listing
            for name, digest in listing.items():
                if not (path / name).is_file():
                    return None, f"{name} is missing"
                if sha256_file(path / name) != digest:
                    return None, f"{name} does not match its checksum"
            load = lambda n: json.loads((path / n).read_text())  # noqa: E731
            return Result(kind, path.name, path, load("config.json"), load("metrics.json"), load("meta.json")), None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            return None, f"unreadable ({type(e).__name__}: {e})"

    @staticmethod
    def _discard(path: Path) -> None:
        try:
            (path / MARKER).unlink(missing_ok=True)  # first, so a crash mid-removal leaves it incomplete
            shutil.rmtree(path, ignore_errors=True)
        except OSError as e:
            raise StoreError(f"cannot remove damaged entry {path}: {e.strerror}") from e

    @contextmanager
    def _lock(self, path: Path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path.parent / f"{path.name}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as e:
            raise StoreError(f"cannot write in results directory {path.parent}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by the OS if this process dies
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _meta(kind, cfg, wall_time) -> dict:
        import numpy
        return {"kind": kind, "hash": config_hash(kind, cfg), "wall_time_s": round(wall_time, 3),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": git_revision(),
                "torch": torch.__version__, "numpy": numpy.__version__, "python": platform.python_version(),
                "device": device_name(), "threads": torch.get_num_threads(),
                "cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": native_bf16(default_device()),
                "hardware": fingerprint(default_device()), "host": platform.node(),
                "config_json": canonical_json(to_dict(cfg))}


def threads_of(meta: dict) -> int | None:
    """The PyTorch thread count an entry was computed with (older entries: from the device string)."""
    found = re.search(r"(\d+) threads", meta.get("device", ""))
    return meta.get("threads") or (int(found.group(1)) if found else None)


@contextmanager
def using_threads(n: int | None):
    """PyTorch's intra-op thread count set to n (None: unchanged) for the block."""
    saved = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
