"""Profiles: per-notebook settings for `smoke` (tests), `quick` (CPU, Fashion-MNIST), `paper` (GPU) and
`paper-trial` (the paper's models, heads, batch sizes, image sizes and data for a handful of steps).

A profile is data only: `profiles/<notebook>.json` maps each profile name to that notebook's
settings, and every profile runs the same code. A derived profile (`paper-trial`) lists only the
settings in which it differs from its base (`paper`), so the two cannot drift apart. A notebook's parameters cell names the profile
and may override single settings; `settings()` merges and validates them.

An override must have the form of the profiles' values for that setting (an int where they hold
ints, a list of [str, str, int] where they hold architecture triples, None only where a profile has
None, ...) and lie in the range of RANGES (by default every int >= 1 and every number finite). This
module imports nothing heavy, so the command line checks parameters before torch is loaded; names
(datasets, architectures) are checked when the run configs are built (`notebooks.check`).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..config import ConfigError, check_choice, check_range

PROFILE_NAMES = ("smoke", "quick", "paper", "paper-trial")
DERIVED = {"paper-trial": "paper"}  # derived profile -> its base (listed before it in PROFILE_NAMES)
HERE = Path(__file__).resolve().parent


def load_all() -> dict[str, dict[str, dict]]:
    """{profile: {notebook: settings}} from every JSON file beside this module."""
    out = {p: {} for p in PROFILE_NAMES}
    for path in sorted(HERE.glob("*.json")):
        per_profile = json.loads(path.read_text())
        if set(per_profile) != set(PROFILE_NAMES):
            raise ConfigError(f"{path} must define exactly the profiles {', '.join(PROFILE_NAMES)}")
        for profile in PROFILE_NAMES:
            values = per_profile[profile]
            if profile in DERIVED:
                base = out[DERIVED[profile]][path.stem]
                unknown = sorted(set(values) - set(base))
                if unknown:
                    raise ConfigError(f"{path}: {profile} changes setting(s) {unknown} that {DERIVED[profile]} lacks")
                values = base | values
            out[profile][path.stem] = values
    return out


PROFILES = load_all()

# (lo, hi) for every number in a setting, where the default (int >= 1, any finite float) is wrong;
# a string hi names another setting (probe epochs lie within the run's epochs)
RANGES = {"seed": (0, math.inf), "seeds": (0, math.inf), "orders": (0, math.inf), "crop_pad": (0, math.inf),
          "resolution": (2, 1001), "alpha": (0.0, 1.0), "alphas": (0.0, 1.0), "weights": (0.0, math.inf),
          "lr": (0.0, 10.0), "distill_lr": (0.0, 10.0), "lrs": (0.0, 10.0),
          "probe_epochs": (0, "epochs"), "probe_epochs2": (0, "epochs2"), "lines": (0, "epochs")}
OPEN_AT_LO = {"lr", "distill_lr", "lrs"}
INT_DEFAULT = (1, math.inf)


def settings(notebook: str, profile: str, **overrides) -> dict:
    """The profile's settings for a notebook with non-None overrides applied (names, forms and ranges
    checked; a dict override changes only the keys it names)."""
    check_choice("profile", profile, PROFILE_NAMES)
    check_choice("notebook", notebook, sorted(PROFILES[profile]))
    out = dict(PROFILES[profile][notebook])
    given = {k: v for k, v in overrides.items() if v is not None}
    for key, value in given.items():
        if key not in out:
            raise ConfigError(f"unknown parameter {key!r} of notebook {notebook}; allowed: {', '.join(sorted(out))}")
        value = check_form(key, value, examples(notebook, key, first=profile))
        out[key] = out[key] | value if isinstance(value, dict) and isinstance(out[key], dict) else value
    for key in given:  # after every override is in: ranges may name another setting
        check_values(key, out[key], out, examples(notebook, key))
    return out


def examples(notebook: str, key: str, first: str = PROFILE_NAMES[0]) -> list:
    """The setting's value in every profile (`first` first, as the example an error shows): what an
    override must look like."""
    return [PROFILES[p][notebook][key] for p in sorted(PROFILE_NAMES, key=lambda p: p != first)]


def kind(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "int" if isinstance(value, int) else "number"
    return {str: "str", list: "list", tuple: "list", dict: "dict"}.get(type(value), type(value).__name__)


def is_record(example) -> bool:
    """A list of mixed kinds (an architecture triple ["small_vgg", "none", 8]) has a fixed length."""
    return isinstance(example, list) and len({"number" if kind(x) == "int" else kind(x) for x in example}) > 1


def check_form(where: str, value, examples: list):
    """`value` (tuples as lists) if it has the form of one of `examples`, else a ConfigError."""
    shown = [e for e in examples if e is not None and e != []]
    if not shown:  # None (or empty) in every profile: nothing to compare with; the configs check it
        return value
    kinds = {kind(e) for e in examples}
    got = kind(value)
    if got not in kinds and not (got == "int" and "number" in kinds):
        allowed = " or ".join(sorted(kinds, key=lambda k: (k == "None", k)))
        raise ConfigError(f"{where} = {value!r} has type {type(value).__name__}; expected {allowed} like {shown[0]!r}")
    if got == "list":
        value, lists = list(value), [e for e in shown if isinstance(e, list)]
        records = [e for e in lists if is_record(e)]
        if records:
            same = [e for e in records if len(e) == len(value)]
            if not same:
                raise ConfigError(f"{where} = {value!r} must have {len(records[0])} items like {records[0]!r}")
            return [check_form(f"{where}[{i}]", v, [e[i] for e in same]) for i, v in enumerate(value)]
        items = [x for e in lists for x in e]
        return [check_form(f"{where}[{i}]", v, items) for i, v in enumerate(value)]
    if got == "int" and "int" not in kinds:  # 1 where the profiles hold 1.0: the same run, the same store key
        return float(value)
    if got == "dict":
        dicts = [e for e in shown if isinstance(e, dict)]
        allowed = sorted({k for d in dicts for k in d})
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise ConfigError(f"unknown {where} setting(s) {unknown}; allowed: {', '.join(allowed)}")
        return {k: check_form(f"{where}.{k}", v, [d[k] for d in dicts if k in d]) for k, v in value.items()}
    return value


def check_values(key: str, value, P: dict, examples: list) -> None:
    """Every number of a setting in its range; lists non-empty where every profile's is, and distinct."""
    if isinstance(value, list):
        if not value and all(examples):
            raise ConfigError(f"{key} = {value!r} must list at least one value")
        seen = [json.dumps(v, sort_keys=True) for v in value]
        if len(set(seen)) < len(seen):
            twice = next(v for v, s in zip(value, seen) if seen.count(s) > 1)
            raise ConfigError(f"{key} = {value!r} lists {twice!r} twice; values must be distinct")
    for where, number in numbers(key, value):
        lo, hi = RANGES.get(key, INT_DEFAULT if isinstance(number, int) else (-math.inf, math.inf))
        bound = P[hi] if isinstance(hi, str) else hi
        try:
            check_range(where, number, lo, bound, lo_open=key in OPEN_AT_LO, hi_open=bound == math.inf)
        except ConfigError as e:
            raise ConfigError(f"{e} ({hi} = {bound})" if isinstance(hi, str) else str(e)) from None


def numbers(where: str, value):
    """(path, number) of every int or float inside a setting."""
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from numbers(f"{where}[{i}]", v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from numbers(f"{where}.{k}", v)
    elif kind(value) in ("int", "number"):
        yield where, value


def describe(notebook: str, key: str) -> str:
    """A setting's form and range in words (`python -m rtdlib params`)."""
    ex = examples(notebook, key)
    parts = [form(ex)]
    nums = [n for e in ex for _, n in numbers(key, e)]
    if nums:
        lo, hi = RANGES.get(key, INT_DEFAULT if all(isinstance(n, int) for n in nums) else (-math.inf, math.inf))
        if (lo, hi) != (-math.inf, math.inf):
            where = "each number in" if any(isinstance(e, (list, dict)) for e in ex) else "in"
            parts.append(f"{where} {'(' if key in OPEN_AT_LO else '['}{lo}, {hi}{')' if hi == math.inf else ']'}")
        else:
            parts.append("finite")
    if any(isinstance(e, list) for e in ex):
        parts.append("distinct" + (", at least one" if all(ex) else ""))
    return "; ".join(parts)


def form(examples: list) -> str:
    """What check_form accepts, in words: e.g. `int or None`, `list of [str, str, int]`."""
    shown = [e for e in examples if e is not None]
    words = []
    for k in sorted({kind(e) for e in shown}):
        if k == "list":
            lists = [e for e in shown if isinstance(e, list)]
            records = [e for e in lists if is_record(e)]
            items = [x for e in lists for x in e]
            if records:
                same = [r for r in records if len(r) == len(records[0])]
                words.append("[" + ", ".join(form([r[i] for r in same]) for i in range(len(records[0]))) + "]")
            else:
                words.append(f"list of {form(items)}" if items else "list")
        elif k == "dict":
            dicts = [e for e in shown if isinstance(e, dict)]
            keys = sorted({n for d in dicts for n in d})
            words.append("{" + ", ".join(f"{n}: {form([d[n] for d in dicts if n in d])}" for n in keys) + "}")
        else:
            words.append(k)
    if any(e is None for e in examples):
        words.append("None")
    return " or ".join(words) or "any"
