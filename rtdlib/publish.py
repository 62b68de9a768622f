"""Published results: a profile's store entries without their artifacts, committed to git under
published/<profile>/<kind>/<hash>/ (config.json, metrics.json, meta.json and a PUBLISHED marker listing
them with sha256, plus the sha256 of every artifact left out), so that `make figures` on a fresh clone
redraws every figure without training. The store reads these folders behind results/ (rtdlib/store.py).

`publish` exports, from a full results store, the entries a profile's notebooks use: the configs of
their sweeps (rtdlib/sweeps.py) and every entry their last plain run read (figures/<profile>/.runs/).
`verify` recomputes published entries in a temporary store and requires bit-identical metrics.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .config import check_choice, config_hash, default_device, from_dict, native_bf16
from .executor import config_class, engine
from .store import (MARKER, PUBLISHED, Store, StoreError, atomic_write, json_bytes, published_root, results_dir,
                    threads_of, using_threads)

KEPT = ("config.json", "metrics.json", "meta.json")
SIZE_AIM_MB = 20  # what a clone should carry for one profile


def published_dir(profile: str) -> Path:
    from .profiles import PROFILE_NAMES
    check_choice("profile", profile, PROFILE_NAMES)
    root = published_root()
    if root is None:
        raise StoreError("RTD_PUBLISHED is set empty (published results switched off); unset it to use published/")
    return root / profile


def used_entries(profile: str, only=None) -> list[str]:
    """"kind/hash" of every entry the profile's notebooks (or `only` those) read: their sweeps' configs
    and what their last run without overrides logged. A notebook with neither is an error."""
    from . import notebooks
    from .profiles import PROFILES, settings
    from .sweeps import SWEEPS
    names = only or notebooks.available()
    out = set()
    for name in names:
        notebooks.source(name)  # validates the name
        record = notebooks.FIGURES / profile / ".runs" / f"{name}.json"
        logged = json.loads(record.read_text()) if record.is_file() else {}
        if not logged.get("overrides"):
            out.update(logged.get("results", ()))
        if name in SWEEPS and name in PROFILES[profile]:
            P = settings(name, profile)
            out.update(f"{kind}/{config_hash(kind, c)}" for kind, make in SWEEPS[name] for c in make(P))
        elif "results" not in logged or logged.get("overrides"):
            raise StoreError(f"notebook {name} has no sweep and no record of a run without overrides in {record}; "
                             f"run `make figures PROFILE={profile} ONLY={name}` first")
    return sorted(out)


def publish(profile: str, only=None, results: Path | None = None) -> Path:
    """Export the entries the profile's notebooks use from results/ into published/<profile>/, each
    verified first. Without `only`, entries no notebook uses any more are removed; with it, the other
    notebooks' entries stay. Nothing is written unless every entry is found intact."""
    dest = published_dir(profile)
    root = Path(results or results_dir()).resolve()
    plan, missing, used = {}, [], used_entries(profile, only)
    for entry in used:
        kind, _, digest = entry.partition("/")
        local, problem = Store._verify(kind, root / kind / digest)
        if local:
            plan[entry] = local
        elif not Store._verify(kind, dest / entry, PUBLISHED)[0]:  # published before, e.g. by an --only run
            missing.append(f"{entry} ({problem if (root / entry / MARKER).exists() else 'not computed'})")
    if missing:
        raise StoreError(f"{len(missing)} of the entries {profile}'s notebooks use are not intact in {root}, "
                         f"e.g. {missing[0]}; run `make figures PROFILE={profile}` first")
    for junk in dest.glob("*/.*"):  # an interrupted publish's
        shutil.rmtree(junk, ignore_errors=True)
    for entry, result in plan.items():
        write_entry(result, dest / entry)
    if not only:
        for stale in [p for p in dest.glob("*/*") if f"{p.parent.name}/{p.name}" not in used]:
            shutil.rmtree(stale)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    entries = len(list(dest.glob("*/*")))
    print(f"published {len(plan)} entries from {root} into {dest}: now {entries} entries, {size / 1e6:.1f} MB")
    if size > SIZE_AIM_MB * 1e6:
        print(f"warning: {dest} holds {size / 1e6:.1f} MB, more than the {SIZE_AIM_MB} MB a clone should carry")
    return dest


def write_entry(result, target: Path) -> None:
    """The entry's kept files and its PUBLISHED marker, swapped in whole (never half a folder)."""
    listing = json.loads((result.path / MARKER).read_text())
    marker = {"files": {n: listing[n] for n in KEPT}, "omitted": {n: d for n, d in listing.items() if n not in KEPT}}
    current, _ = Store._verify(result.kind, target, PUBLISHED)
    if current and json.loads((target / PUBLISHED).read_text()) == marker:
        return  # already published, byte for byte
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staged.chmod(0o755)  # mkdtemp's 0700 would hide a shared checkout's entries from its other users
    for name in KEPT:
        shutil.copyfile(result.path / name, staged / name)
    atomic_write(staged / PUBLISHED, json_bytes(marker))
    old = target.parent / f".{target.name}.old"
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)


def config_of(kind: str, config: dict):
    """The config object of a stored config.json (JSON lists back to the configs' tuples)."""
    return from_dict(config_class(kind), as_tuples(config))


def as_tuples(obj):
    if isinstance(obj, dict):
        return {k: as_tuples(v) for k, v in obj.items()}
    return tuple(as_tuples(v) for v in obj) if isinstance(obj, list) else obj


def differences(a, b, at=""):
    """(path, published, recomputed) of every leaf where two metrics dicts differ (exactly, NaN == NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            path = f"{at}.{k}" if at else str(k)
            both = k in a and k in b
            out += differences(a[k], b[k], path) if both else [(path, a.get(k, "absent"), b.get(k, "absent"))]
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{at}[{i}]")]
    return [] if json.dumps(a) == json.dumps(b) else [(at or "(all)", a, b)]


@contextmanager
def isolated(threads: int | None):
    """Recompute as published: that thread count, no published layer, no notebook's used-results log."""
    saved_env = {k: os.environ.get(k) for k in ("RTD_PUBLISHED", "RTD_USED_LOG")}
    os.environ["RTD_PUBLISHED"] = ""
    os.environ.pop("RTD_USED_LOG", None)
    try:
        with using_threads(threads):
            yield
    finally:
        for k, v in saved_env.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def verify(profile: str, n: int = 3, seed: int | None = None, cheapest: bool = False) -> int:
    """Recompute n randomly chosen (or the cheapest) published entries in a temporary store; prints one
    line per entry and returns how many differ from their published metrics."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"N (-n) = {n!r} must be a positive integer")
    layer = published_dir(profile)
    entries = sorted(p for p in layer.glob("*/*") if (p / PUBLISHED).is_file())
    if not entries:
        print(f"verify: no published entries in {layer} yet; nothing to verify")
        return 0
    if cheapest:
        chosen = [min(entries, key=lambda p: (json.loads((p / "meta.json").read_text())["wall_time_s"], p.name))]
        print(f"verify: the cheapest of {len(entries)} published entries")
    else:
        seed = secrets.randbelow(2 ** 31) if seed is None else seed
        chosen = random.Random(seed).sample(entries, min(n, len(entries)))
        print(f"verify: {len(chosen)} of {len(entries)} published entries, seed {seed} "
              f"(SEED={seed} repeats the choice)")
    with tempfile.TemporaryDirectory(prefix="rtd-verify-") as tmp:
        return sum(not verify_entry(path, Store(tmp, published=[])) for path in chosen)


def verify_entry(path: Path, store: Store) -> bool:
    import torch

    from .store import device_name
    kind, digest = path.parent.name, path.name
    name = f"{kind}/{digest}"
    published, problem = Store._verify(kind, path, PUBLISHED)
    if problem:
        print(f"MISMATCH {name}: the published entry is damaged ({problem})")
        return False
    cfg = config_of(kind, published.config)
    if config_hash(kind, cfg) != digest:
        print(f"MISMATCH {name}: its config.json hashes to {config_hash(kind, cfg)}, not to its folder name")
        return False
    meta = published.meta
    with isolated(threads_of(meta)):
        here = {"torch": torch.__version__, "device": device_name(),
                "cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": native_bf16(default_device())}
        for key, value in here.items():
            if key in meta and meta[key] != value:
                print(f"note {name}: published with {key} {meta[key]!r}, recomputed with {value!r}")
        started = time.time()
        result = store.get_or_run(kind, cfg, engine(kind))
    diffs = differences(published.metrics, result.metrics)
    if diffs:
        key, old, new = diffs[0]
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        print(f"MISMATCH {name}: metrics key {key!r} published {old!r}, recomputed {new!r}{more}")
        return False
    listing = json.loads((result.path / MARKER).read_text())
    omitted = json.loads((path / PUBLISHED).read_text())["omitted"]
    weights = "identical" if all(listing.get(n) == d for n, d in omitted.items()) else "different (metrics equal)"
    print(f"ok {name}: metrics equal, artifacts {weights}, {time.time() - started:.0f} s "
          f"with {threads_of(meta) or 'default'} threads")
    return True
