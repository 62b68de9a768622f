"""The CPU as Linux describes it in /proc/cpuinfo; a leaf module, so that config, hardware and plan all read it
here without importing each other."""
from __future__ import annotations


def fields(path="/proc/cpuinfo") -> dict:
    """The first processor's fields (empty where there is no such file, e.g. macOS)."""
    try:
        with open(path) as f:
            block = f.read().split("\n\n")[0]
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in block.splitlines()) if k.strip()}
