"""The error a bad setting raises, and the checks that raise it: a leaf module (it imports nothing of ours),
so the config, the datasets and the models can all use it without importing one another in a circle."""
from __future__ import annotations

import math


class ConfigError(ValueError):
    """A setting that is not allowed; the message names the value and what is allowed."""


def check_choice(what: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"unknown {what} {value!r}; allowed: {', '.join(map(str, allowed))}")


def check_range(what: str, value, lo, hi, *, lo_open=False, hi_open=False) -> None:
    ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
    bad = (not ok_type or not math.isfinite(value)
           or (value <= lo if lo_open else value < lo) or (value >= hi if hi_open else value > hi))
    if bad:
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ConfigError(f"{what} = {value!r} is outside {interval}")
