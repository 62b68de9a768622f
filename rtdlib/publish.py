"""Published results: a profile's store entries without their artifacts, committed to git under
published/<profile>/<kind>/<hash>/ (config.json, metrics.json, meta.json and a PUBLISHED marker listing
them with sha256, plus the sha256 of every artifact left out), so that `make figures` on a fresh clone
redraws every figure without training. The store reads these folders behind results/ (rtdlib/store.py).

`publish` exports, from a full results store, the entries a profile's notebooks use: the configs of
their sweeps (rtdlib/sweeps.py) and every entry their last plain run read (figures/<profile>/.runs/).
`verify` (rtdlib/verify.py) recomputes published entries and compares them with these.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .config import check_choice, config_hash
from .store import MARKER, PUBLISHED, Store, StoreError, atomic_write, json_bytes, published_root, results_dir

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
