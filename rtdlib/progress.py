"""Progress: bars in terminals and JupyterLab, and plain lines for `make figures`.

Bars are shown in terminals, quiet under papermill and in logs unless RTD_PROGRESS=1 (a bar in an
executed notebook is noise). The notebook runner instead names a file in RTD_PROGRESS_LOG that the
kernel and its worker processes append lines to ("what, n/N, elapsed", at most one per bar every
EVERY seconds, and the last); it prints them to the terminal as they come. RTD_PROGRESS=0 silences both.
"""
import os
import sys
import time

from tqdm.auto import tqdm

EVERY = 15.0  # seconds between two lines of one bar


def enabled() -> bool:
    flag = os.environ.get("RTD_PROGRESS")
    return flag == "1" if flag in ("0", "1") else sys.stderr.isatty()


def lines_enabled() -> bool:
    """Whether the runner should collect progress lines (everything but RTD_PROGRESS=0)."""
    return os.environ.get("RTD_PROGRESS") != "0"


def elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}h{m % 60:02d}m{s:02d}s" if m >= 60 else f"{m}m{s:02d}s"


def line(text: str) -> None:
    """Append one line to the runner's progress file, if a runner asked for one."""
    path = os.environ.get("RTD_PROGRESS_LOG")
    if not path:
        return
    try:  # one O_APPEND write per line: lines of concurrent workers do not interleave
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (text.replace("\n", " ") + "\n").encode())
        finally:
            os.close(fd)
    except OSError:
        pass  # progress must never stop a computation


class Counter:
    """`what: done/total (elapsed, ~ETA left)` lines, at most one every EVERY seconds, always the last one; the
    ETA assumes the items left take as long as those done."""

    def __init__(self, what: str, total: int | None):
        self.what, self.total = what, total
        self.start = self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= EVERY or done == self.total:
            self.last = now
            of = f"/{self.total}" if self.total else ""
            spent = now - self.start
            left = f", ~{elapsed(spent / done * (self.total - done))} left" if self.total and 0 < done < self.total else ""
            line(f"{self.what}: {done}{of} ({elapsed(spent)}{left})")


def bar(iterable=None, **kw):
    shown = tqdm(iterable, disable=not enabled(), leave=False, dynamic_ncols=True, **kw)
    if not os.environ.get("RTD_PROGRESS_LOG"):
        return shown
    total = kw.get("total", len(iterable) if hasattr(iterable, "__len__") else None)
    return _counted(shown, Counter(kw.get("desc", "progress"), total))


def _counted(items, count: Counter):
    for i, item in enumerate(items, 1):
        yield item
        count(i)
