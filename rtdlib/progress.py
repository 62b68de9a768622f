"""Progress bars: shown in terminals, quiet under papermill and in logs unless RTD_PROGRESS=1."""
import os
import sys

from tqdm.auto import tqdm


def enabled() -> bool:
    flag = os.environ.get("RTD_PROGRESS")
    return flag == "1" if flag in ("0", "1") else sys.stderr.isatty()


def bar(iterable=None, **kw):
    return tqdm(iterable, disable=not enabled(), leave=False, dynamic_ncols=True, **kw)
