"""`verify`: recompute published entries (or every run behind one claim) and compare with what was published.

Two levels, chosen per entry from the hardware fingerprint (rtdlib/hardware.py) its meta.json records:

- same hardware (every deciding field equal): the metrics must be equal bit for bit.
- other hardware (a field differs, or none was recorded): the same code takes other kernels, whose
  rounding differences grow during training, so a run can move by about as much as another seed
  would. Every numeric metric's difference |Δ| must lie within K_SD standard deviations of that metric
  over the published seeds of the same setting (the entries of the kind whose configs differ only in
  keys named *seed), and never below REL_FLOOR of its value. Non-numeric metrics must be equal. A
  setting with fewer than MIN_SEEDS published seeds has no spread to judge by: its differences are
  printed, not judged.

A claim is the statement a reader cares about ("on my machine, Fig. 1 comes out the same"): `verify
--claim` recomputes, on this machine and in a temporary store, every entry of the notebook that tests
the claim, re-executes it, and requires the claim's outcome to be the published one and its effect to
lie within the published 95% CI.
"""
from __future__ import annotations

import json
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .config import config_hash, default_device, from_dict, setting_of
from .kinds import config_class, engine
from .hardware import describe, differing, fingerprint
from .publish import published_dir
from .store import MARKER, PUBLISHED, Store, threads_of, using_threads

K_SD = 4  # a recompute on other kernels may land anywhere a seed could; 4 SDs also covers a 3-seed SD that came out low
REL_FLOOR = 0.01  # metrics that no seed changes (the input's probe, counts) may still move by rounding
MIN_SEEDS = 3
TIMINGS = ("eval_seconds", "seconds_per_point")  # measure the machine, not the result: never compared
HARDWARE_CHOICES = ("precision",)  # what `precision="auto"` resolved to depends on the hardware: reported, not judged
LEVELS = ("auto", "exact", "tolerance")


def config_of(kind: str, config: dict):
    """The config object of a stored config.json (JSON lists back to the configs' tuples)."""
    return from_dict(config_class(kind), as_tuples(config))


def as_tuples(obj):
    if isinstance(obj, dict):
        return {k: as_tuples(v) for k, v in obj.items()}
    return tuple(as_tuples(v) for v in obj) if isinstance(obj, list) else obj


def leaves(obj, at="") -> dict:
    """{path: value} of every leaf of a metrics dict, timings left out."""
    if isinstance(obj, dict):
        out = {}
        for k in sorted(obj, key=str):
            if k not in TIMINGS:
                out.update(leaves(obj[k], f"{at}.{k}" if at else str(k)))
        return out
    if isinstance(obj, list):
        return {p: v for i, x in enumerate(obj) for p, v in leaves(x, f"{at}[{i}]").items()} or {at: []}
    return {at or "(all)": obj}


def differences(a, b) -> list[tuple]:
    """(path, published, recomputed) of every leaf where two metrics dicts differ (exactly, NaN == NaN)."""
    la, lb = leaves(a), leaves(b)
    return [(p, la.get(p, "absent"), lb.get(p, "absent")) for p in sorted(set(la) | set(lb))
            if json.dumps(la.get(p, "absent")) != json.dumps(lb.get(p, "absent"))]


def numeric(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def seed_spread(path: Path) -> tuple[dict, int]:
    """({metric path: SD over the setting's published seeds}, number of seeds) for a published entry."""
    kind_dir, config = path.parent, json.loads((path / "config.json").read_text())
    setting = setting_of(config)
    runs = [leaves(json.loads((p / "metrics.json").read_text())) for p in sorted(kind_dir.iterdir())
            if (p / PUBLISHED).is_file() and setting_of(json.loads((p / "config.json").read_text())) == setting]
    spread = {}
    for key in runs[0] if runs else ():
        values = [r[key] for r in runs if numeric(r.get(key))]
        if len(values) >= 2:
            spread[key] = statistics.stdev(values)
    return spread, len(runs)


def within_tolerance(published: dict, recomputed: dict, spread: dict) -> tuple[list, dict]:
    """(failures, worst) of the tolerance check. A failure is (path, published, recomputed, allowed or None
    for a non-numeric difference); worst is the numeric metric with the largest |Δ| / allowed."""
    a, b = leaves(published), leaves(recomputed)
    failures, worst = [], {}
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key, "absent"), b.get(key, "absent")
        if key.split(".")[-1] in HARDWARE_CHOICES:
            continue
        if not (numeric(x) and numeric(y)):
            if json.dumps(x) != json.dumps(y):
                failures.append((key, x, y, None))
            continue
        allowed = max(K_SD * spread.get(key, 0.0), REL_FLOOR * abs(x), 1e-12)
        delta = abs(y - x)
        if not worst or delta / allowed > worst["ratio"]:
            worst = {"key": key, "delta": delta, "allowed": allowed, "ratio": delta / allowed,
                     "sd": spread.get(key, 0.0)}
        if delta > allowed:
            failures.append((key, x, y, allowed))
    return failures, worst


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


def verify(profile: str, n: int = 3, seed: int | None = None, cheapest: bool = False, level: str = "auto") -> int:
    """Recompute n randomly chosen (or the cheapest) published entries in a temporary store; prints one
    line per entry and returns how many fail their level's check."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"N (-n) = {n!r} must be a positive integer")
    check_level(level)
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
    print(f"verify: this machine is {describe(fingerprint(default_device()))}")
    with tempfile.TemporaryDirectory(prefix="rtd-verify-") as tmp:
        return sum(not verify_entry(path, Store(tmp, published=[]), level) for path in chosen)


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown verify level {level!r}; allowed: {', '.join(LEVELS)}")


def verify_entry(path: Path, store: Store, level: str = "auto", threads: int | None = None) -> bool:
    """Recompute one published entry and check it at its level (auto: exact where the fingerprint is this
    machine's, else within tolerance); `threads` overrides the published thread count."""
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
    here = fingerprint(default_device())
    changed = differing(published.meta.get("hardware"), here)
    exact = level == "exact" or (level == "auto" and not changed)
    with isolated(threads or threads_of(published.meta)):
        started = time.time()
        result = store.get_or_run(kind, cfg, engine(kind))
    seconds = time.time() - started
    if exact:
        return exact_check(name, published, result, path, seconds)
    why = (f"published on {describe(published.meta.get('hardware'))}; differs in {', '.join(changed)}"
           if changed else "forced by --level tolerance")
    return tolerance_check(name, published, result, path, why)


def exact_check(name, published, result, path: Path, seconds: float) -> bool:
    diffs = differences(published.metrics, result.metrics)
    if diffs:
        key, old, new = diffs[0]
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        print(f"MISMATCH {name}: same hardware, bit for bit: metrics key {key!r} published {old!r}, "
              f"recomputed {new!r}{more}")
        return False
    listing = json.loads((result.path / MARKER).read_text())
    omitted = json.loads((path / PUBLISHED).read_text())["omitted"]
    weights = "identical" if all(listing.get(n) == d for n, d in omitted.items()) else "different (metrics equal)"
    print(f"ok {name}: same hardware, bit for bit: metrics equal, artifacts {weights}, {seconds:.0f} s "
          f"with {threads_of(published.meta) or 'default'} threads")
    return True


def tolerance_check(name, published, result, path: Path, why: str) -> bool:
    spread, seeds = seed_spread(path)
    rule = f"|Δ| ≤ max({K_SD} × SD over the setting's {seeds} published seeds, {REL_FLOOR:.0%} of the value)"
    for key in HARDWARE_CHOICES:
        if published.metrics.get(key) != result.metrics.get(key):
            print(f"note {name}: {key} {published.metrics.get(key)!r} when published, {result.metrics.get(key)!r} here")
    failures, worst = within_tolerance(published.metrics, result.metrics, spread)
    changed = len(differences(published.metrics, result.metrics))
    if seeds < MIN_SEEDS:
        print(f"not judged {name}: other hardware ({why}); the setting has {seeds} published seed(s), fewer than "
              f"{MIN_SEEDS}, so no spread to judge by; {changed} metrics differ, largest |Δ| {worst.get('delta', 0):.3g} "
              f"({worst.get('key', '-')})")
        return True
    largest = ("no numeric metric" if not worst else "max |Δ| 0 (every metric recomputed exactly)" if not worst["delta"]
               else f"max |Δ| {worst['delta']:.3g} at {worst['key']} vs allowed {worst['allowed']:.3g} "
                    f"(seed SD {worst['sd']:.3g})")
    if failures:
        key, old, new, allowed = failures[0]
        bound = f"allowed {allowed:.3g}" if allowed is not None else "must be equal"
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        print(f"MISMATCH {name}: other hardware ({why}): {key!r} published {old!r}, recomputed {new!r}, "
              f"{bound}{more}; rule {rule}")
        return False
    print(f"ok {name}: other hardware ({why}): within tolerance, {largest}; {changed} metrics differ; rule {rule}")
    return True


def claims(profile: str) -> dict:
    """{claim key: (notebook, row)} of the profile's claims judged by the engine, cheapest notebook first (the
    published entries' recorded wall times)."""
    from .notebooks import FIGURES
    from .publish import used_entries
    from .summary import ROW_FIELDS, read_claims
    out = {}
    for path in sorted((FIGURES / profile).glob("claims_*.json")):
        notebook = path.stem.removeprefix("claims_")
        out.update({row["claim"]: (notebook, row) for row in read_claims(path) if set(row) == set(ROW_FIELDS)})
    layer = published_dir(profile)
    cost = {nb: sum(json.loads((layer / e / "meta.json").read_text())["wall_time_s"]
                    for e in used_entries(profile, [nb]) if (layer / e / "meta.json").is_file())
            for nb in {nb for nb, _ in out.values()}}
    return dict(sorted(out.items(), key=lambda kv: (cost[kv[1][0]], kv[0])))


def verify_claim(profile: str, claim_id: str) -> bool:
    """Recompute every entry of the claim's notebook on this machine (temporary store, published entries
    ignored), re-execute the notebook and compare the claim's outcome and effect with the published ones."""
    from .summary import read_claims
    known = claims(profile)
    if claim_id == "cheapest":
        claim_id = next(iter(known))
    if claim_id not in known:
        raise ValueError(f"unknown claim {claim_id!r}; allowed (cheapest first): cheapest, {', '.join(known)}")
    notebook, row = known[claim_id]
    print(f"verify: claim {claim_id} ({row['figure']}: {row['words']}), recomputing notebook {notebook} "
          f"on {describe(fingerprint(default_device()))}", flush=True)
    with tempfile.TemporaryDirectory(prefix="rtd-verify-claim-") as tmp:
        env = {**os.environ, "RTD_RESULTS": f"{tmp}/results", "RTD_PUBLISHED": "", "RTD_FIGURES": f"{tmp}/figures",
               "RTD_BUILD": f"{tmp}/build"}
        started = time.time()
        run = subprocess.run([sys.executable, "-m", "rtdlib", "run", notebook, "--profile", profile], env=env)
        if run.returncode:
            print(f"MISMATCH claim {claim_id}: notebook {notebook} failed (exit {run.returncode})")
            return False
        mine = {r["claim"]: r for r in read_claims(Path(tmp) / "figures" / profile / f"claims_{notebook}.json")}
    return compare_claim(claim_id, row, mine.get(claim_id), time.time() - started)


def compare_claim(claim_id: str, published: dict, here: dict | None, seconds: float) -> bool:
    """The recomputed claim agrees when its outcome is the published one and its effect lies within the
    published 95% CI."""
    if here is None:
        print(f"MISMATCH claim {claim_id}: the recomputed notebook did not test it")
        return False
    low, high = published["ci_low"], published["ci_high"]
    effect = f"effect {here['effect']:+.3g} (published {published['effect']:+.3g}, 95% CI [{low:+.3g}, {high:+.3g}])"
    if here["outcome"] != published["outcome"]:
        print(f"MISMATCH claim {claim_id}: outcome {here['outcome']!r} here, {published['outcome']!r} published; {effect}")
        return False
    if not low <= here["effect"] <= high:
        print(f"MISMATCH claim {claim_id}: same outcome ({here['outcome']}) but {effect} lies outside the CI")
        return False
    print(f"ok claim {claim_id}: outcome {here['outcome']} as published, {effect}; {seconds:.0f} s")
    return True
