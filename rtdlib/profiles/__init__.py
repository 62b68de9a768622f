"""Profiles: per-notebook settings for `smoke` (tests), `quick` (CPU, Fashion-MNIST), `paper` (GPU).

A profile is data only: `profiles/<notebook>.json` maps each profile name to that notebook's
settings, and every profile runs the same code. A notebook's parameters cell names the profile
and may override single settings; `settings()` merges and validates them.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..config import ConfigError, check_choice

PROFILE_NAMES = ("smoke", "quick", "paper")
HERE = Path(__file__).resolve().parent


def load_all() -> dict[str, dict[str, dict]]:
    """{profile: {notebook: settings}} from every JSON file beside this module."""
    out = {p: {} for p in PROFILE_NAMES}
    for path in sorted(HERE.glob("*.json")):
        per_profile = json.loads(path.read_text())
        if set(per_profile) != set(PROFILE_NAMES):
            raise ConfigError(f"{path} must define exactly the profiles {', '.join(PROFILE_NAMES)}")
        for profile, values in per_profile.items():
            out[profile][path.stem] = values
    return out


PROFILES = load_all()


def settings(notebook: str, profile: str, **overrides) -> dict:
    """The profile's settings for a notebook with non-None overrides applied (names and types checked)."""
    check_choice("profile", profile, PROFILE_NAMES)
    check_choice("notebook", notebook, sorted(PROFILES[profile]))
    out = dict(PROFILES[profile][notebook])
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in out:
            raise ConfigError(f"unknown parameter {key!r} of notebook {notebook}; allowed: {', '.join(sorted(out))}")
        default = out[key]
        if default is not None and not _same_kind(default, value):
            raise ConfigError(f"parameter {key} = {value!r} has type {type(value).__name__}; "
                              f"expected {type(default).__name__} like {default!r}")
        out[key] = value
    return out


def _same_kind(default, value) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))
