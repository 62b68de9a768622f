"""Command line: `python -m rtdlib {figures,run,data,list,distill}`; errors are one line and exit 2."""
from __future__ import annotations

import argparse
import ast
import sys
import time


def parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word is a string


def cmd_figures(args) -> None:
    from . import notebooks
    from .profiles import PROFILE_NAMES
    from .plan import print_plan
    from .config import check_choice
    check_choice("profile", args.profile, PROFILE_NAMES)
    names = args.only or notebooks.available()
    for n in names:
        notebooks.source(n)  # validates the name before anything runs
    if args.dry_run:
        print_plan(names, args.profile)
        return
    for n in names:
        t = time.time()
        done = None if args.force else notebooks.up_to_date(n, args.profile)
        if done:
            print(f"[{args.profile}] {n}: up to date (figures of {done['finished']}; --force re-executes)", flush=True)
            continue
        print(f"[{args.profile}] {n} ...", flush=True)
        figs = notebooks.run(n, args.profile)
        print(f"[{args.profile}] {n}: {len(figs)} files in {time.time() - t:.0f} s", flush=True)
    print(f"manifest: {notebooks.write_manifest(args.profile)}")


def cmd_run(args) -> None:
    from . import notebooks
    overrides = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"parameter {item!r} is not of the form name=value")
        overrides[key] = parse_value(value)
    for f in notebooks.run(args.notebook, args.profile, log_output=args.verbose, **overrides):
        print(f)


def cmd_data(args) -> None:
    from . import data
    data.fetch(args.name)


def cmd_distill(args) -> None:
    from . import adhoc
    adhoc.run(args)


def cmd_list(args) -> None:
    from . import notebooks
    print("\n".join(notebooks.available()))


def main(argv=None) -> int:
    from .config import ConfigError
    from .data import DatasetMissing
    from .notebooks import NotebookError
    from .profiles import PROFILE_NAMES
    from .store import StoreError
    p = argparse.ArgumentParser(prog="python -m rtdlib", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("figures", help="run every figure notebook (or --only some)")
    f.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILE_NAMES)}")
    f.add_argument("--only", nargs="*", help="notebook names")
    f.add_argument("--dry-run", action="store_true", help="print the plan without data or training")
    f.add_argument("--force", action="store_true", help="re-execute notebooks whose figures are up to date")
    f.set_defaults(fn=cmd_figures)
    r = sub.add_parser("run", help="run one notebook")
    r.add_argument("notebook")
    r.add_argument("--profile", default="smoke", help=f"one of {', '.join(PROFILE_NAMES)}")
    r.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    r.add_argument("-v", "--verbose", action="store_true", help="stream the notebook's output")
    r.set_defaults(fn=cmd_run)
    d = sub.add_parser("data", help="datasets")
    d.add_argument("action", choices=["fetch"])
    d.add_argument("name")
    d.set_defaults(fn=cmd_data)
    sub.add_parser("list", help="list the notebooks").set_defaults(fn=cmd_list)
    from . import adhoc  # torch-free at import
    a = sub.add_parser("distill", help="one distillation on any dataset (a .npz file, an ImageFolder directory)")
    adhoc.add_arguments(a)
    a.set_defaults(fn=cmd_distill)
    args = p.parse_args(argv)
    try:
        args.fn(args)
    except (ConfigError, DatasetMissing, NotebookError, StoreError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
