"""Command line: `python -m rtdlib {figures,run,params,report,data,list,publish,verify,distill}`; errors are one line and exit 2.

The command line and every notebook parameter are checked before torch, jupytext or papermill are
imported, so a mistyped command answers at once; modules are imported by the command that needs them.
"""
from __future__ import annotations

import argparse
import ast
import logging
import sys
import time

from .profiles import PROFILE_NAMES


class Parser(argparse.ArgumentParser):
    """argparse with the project's one-line errors (argparse prints the usage block first)."""

    def error(self, message):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def parse_value(text: str):
    """A Python literal (tuples become lists, as the notebooks' parameters hold lists), else a bare word."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word is a string
    return as_lists(value)


def as_lists(value):
    if isinstance(value, (list, tuple)):
        return [as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: as_lists(v) for k, v in value.items()}
    return value


def parse_params(items: list[str]) -> dict:
    """`-p NAME=VALUE` options as {NAME: value}."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"parameter {item!r} is not of the form name=value")
        if key == "profile":
            raise ValueError(f"-p {item}: choose the profile with --profile {value}")
        if key in overrides:
            raise ValueError(f"parameter {key} is given twice (-p {key}=...)")
        overrides[key] = parse_value(value)
    return overrides


def cmd_figures(args) -> None:
    from . import notebooks
    from .config import check_choice
    check_choice("profile", args.profile, PROFILE_NAMES)
    names = args.only or notebooks.available()
    if args.dry_run:
        for n in names:
            notebooks.source(n)
        from .plan import print_plan
        if args.calibrate:
            from .config import default_device
            print_plan(names, args.profile, calibrate_on=default_device())
        else:
            print_plan(names, args.profile)
        return
    settings = {n: notebooks.check(n, args.profile, {}) for n in names}  # every notebook's input before any runs
    from .plan import estimate
    from .store import Store, require_writable_results
    require_writable_results()
    store = Store()
    for i, n in enumerate(names, 1):
        t = time.time()
        done = None if args.force else notebooks.up_to_date(n, args.profile)
        if done:
            print(f"[{args.profile}] {n}: up to date (figures of {done['finished']}; --force re-executes)", flush=True)
            continue
        plan = estimate(n, settings[n], store) if settings[n] is not None else ""
        print(f"[{args.profile}] {n} ({i} of {len(names)})" + (f": {plan}" if plan else "") + " ...", flush=True)
        figs = notebooks.execute(n, args.profile)
        print(f"[{args.profile}] {n}: {len(figs)} files in {time.time() - t:.0f} s", flush=True)
    print(f"manifest: {notebooks.write_manifest(args.profile)}")
    cmd_report(args)


def cmd_report(args) -> None:
    from . import report
    from .config import check_choice
    from .profiles import PROFILE_NAMES
    check_choice("profile", args.profile, PROFILE_NAMES)
    print(f"report: {report.write(args.profile) / 'index.html'}")


def cmd_run(args) -> None:
    overrides = parse_params(args.param)
    from . import notebooks
    given = {k: v for k, v in overrides.items() if v is not None}  # None: the profile's value
    P = notebooks.check(args.notebook, args.profile, given)
    folder = notebooks.output_folder(args.profile, given)  # named after the overrides as typed
    overrides = notebooks.absolute_datasets(given)
    from .plan import estimate
    from .store import Store, require_writable_results
    require_writable_results()
    if given:
        print(f"overrides: figures go to {notebooks.FIGURES / folder}/ (figures/{args.profile}/ is left as it is)",
              flush=True)
    plan = estimate(args.notebook, P, Store()) if P is not None else ""
    if plan:
        print(f"{args.notebook}: {plan}", flush=True)
    for f in notebooks.execute(args.notebook, args.profile, log_output=args.verbose, folder=folder, **overrides):
        print(f)
    print(f"manifest: {notebooks.FIGURES / folder / 'MANIFEST.md'}; executed notebook: "
          f"{notebooks.BUILD / folder / (args.notebook + '.ipynb')}")


def cmd_params(args) -> None:
    from . import notebooks
    from .config import check_choice
    from .profiles import PROFILES, describe
    shown = [args.profile] if args.profile else list(PROFILE_NAMES)
    for p in shown:
        check_choice("profile", p, PROFILE_NAMES)
    names = [k for k in notebooks.parameters(args.notebook) if k != "profile"]
    print(f"{args.notebook}: `python -m rtdlib run {args.notebook} --profile {'|'.join(PROFILE_NAMES)} "
          f"-p NAME=VALUE` (a Python literal; None keeps the profile's value)")
    if args.notebook not in PROFILES["quick"] or not names:
        print("  no parameters besides the profile")
        return
    for key in names:
        print(f"  {key}: {describe(args.notebook, key)}")
        for p in shown:
            print(f"    {p}: {PROFILES[p][args.notebook][key]!r}")


def cmd_data(args) -> None:
    from . import downloads
    if args.name in PROFILE_NAMES:  # every dataset the profile's notebooks read
        from .plan import profile_datasets
        names = profile_datasets(args.name)
        print(f"profile {args.name!r} reads: {', '.join(names) or 'no dataset'}")
        downloads.fetch_datasets(names)
    else:
        downloads.fetch_datasets([args.name])


def cmd_distill(args) -> None:
    from . import adhoc
    adhoc.run(args)


def cmd_list(args) -> None:
    from . import notebooks
    print("\n".join(notebooks.available()))


def cmd_publish(args) -> None:
    from . import publish
    publish.publish(args.profile, args.only)


def cmd_verify(args) -> int:
    from . import verify
    if args.claim:
        return 0 if verify.verify_claim(args.profile, args.claim) else 1
    differ = verify.verify(args.profile, args.n, args.seed, args.cheapest, args.level)
    if differ:
        print(f"verify: {differ} recomputed entries differ from their published metrics", file=sys.stderr)
    return 1 if differ else 0


def user_errors() -> tuple[type, ...]:
    """The exceptions whose message is for the user (one line, exit 2). A module the command never
    imported cannot have raised its own, so only the imported ones are looked up (no torch import)."""
    mods = {"rtdlib.config": "ConfigError", "rtdlib.data": "DatasetMissing",
            "rtdlib.notebooks": "NotebookError", "rtdlib.store": "StoreError"}
    return tuple(getattr(sys.modules[m], e) for m, e in mods.items() if m in sys.modules) + (ValueError, OSError)


def parser() -> Parser:
    p = Parser(prog="python -m rtdlib", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    f = sub.add_parser("figures", help="run every figure notebook (or --only some)")
    f.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILE_NAMES)} (default quick)")
    f.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="notebook names")
    f.add_argument("--dry-run", action="store_true", help="print the plan without data or training")
    f.add_argument("--calibrate", action="store_true",
                   help="with --dry-run: time a few training steps of every model on this machine's device")
    f.add_argument("--force", action="store_true", help="re-execute notebooks whose figures are up to date")
    f.set_defaults(fn=cmd_figures)
    r = sub.add_parser("run", help="run one notebook (with overrides: into figures/<profile>+<overrides>/)")
    r.add_argument("notebook")
    r.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILE_NAMES)} (default quick)")
    r.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a setting of the profile (see `params NOTEBOOK`)")
    r.add_argument("-v", "--verbose", action="store_true", help="stream the notebook's output")
    r.set_defaults(fn=cmd_run)
    rp = sub.add_parser("report", help="rebuild report/<profile>/ from the executed notebooks in build/ (runs nothing)")
    rp.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILE_NAMES)}")
    rp.set_defaults(fn=cmd_report)
    m = sub.add_parser("params", help="a notebook's parameters: type, value per profile, allowed range")
    m.add_argument("notebook")
    m.add_argument("--profile", help="show this profile's values only")
    m.set_defaults(fn=cmd_params)
    d = sub.add_parser("data", help="datasets")
    d.add_argument("action", choices=["fetch"])
    d.add_argument("name", help=f"a dataset, or a profile ({', '.join(PROFILE_NAMES)}) for all the datasets it reads")
    d.set_defaults(fn=cmd_data)
    sub.add_parser("list", help="list the notebooks").set_defaults(fn=cmd_list)
    pub = sub.add_parser("publish", help="copy the results a profile's figures use, without checkpoints, "
                                         "from results/ into published/<profile>/")
    pub.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILE_NAMES)}")
    pub.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="these notebooks' results (the others' published ones stay)")
    pub.set_defaults(fn=cmd_publish)
    v = sub.add_parser("verify", help="recompute published entries in a temporary store and compare: bit for bit on "
                                      "the publisher's hardware, within the seed-to-seed spread on other hardware")
    v.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILE_NAMES)}")
    v.add_argument("-n", type=int, default=3, help="how many randomly chosen entries (default 3)")
    v.add_argument("--seed", type=int, help="the choice's seed (default: a random one, printed)")
    v.add_argument("--cheapest", action="store_true", help="only the entry that took least time to compute")
    v.add_argument("--level", default="auto", choices=["auto", "exact", "tolerance"],
                   help="auto (default): bit for bit where the hardware fingerprint equals the publisher's, else "
                        "within tolerance; exact or tolerance force one")
    v.add_argument("--claim", metavar="ID", help="recompute every run behind one claim (or `cheapest`) and compare "
                                                  "its outcome and effect with the published ones")
    v.set_defaults(fn=cmd_verify)
    from . import adhoc  # torch-free at import
    a = sub.add_parser("distill", help="one distillation on any dataset (a .npz file, an ImageFolder directory)")
    adhoc.add_arguments(a)
    a.set_defaults(fn=cmd_distill)
    return p


def interrupted(args) -> str:
    """The line for Ctrl-C: how many of the interrupted command's runs the store holds (resuming from them)."""
    try:
        from . import notebooks
        from .plan import store_status
        from .profiles import PROFILES, settings
        from .store import Store
        if args.cmd == "run":
            overrides = notebooks.absolute_datasets(parse_params(args.param))
            work = {args.notebook: settings(args.notebook, args.profile, **overrides)}
        elif args.cmd == "figures" and not args.dry_run:
            work = {n: settings(n, args.profile) for n in args.only or notebooks.available() if n in PROFILES[args.profile]}
        else:
            return "interrupted"
        store = Store()
        counts = [store_status(n, P, store)[:2] for n, P in work.items()]
        have, total = sum(c[0] for c in counts), sum(c[1] for c in counts)
    except Exception:  # interrupted before the input was checked: there is nothing to count
        return "interrupted"
    return f"interrupted; {have} of {total} runs stored, rerun to resume" if total else "interrupted"


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        code = args.fn(args)
    except KeyboardInterrupt:
        # the notebook client's pending cell task fails with the kernel's own KeyboardInterrupt; asyncio would
        # print its traceback (~140 lines) when the task is collected at exit
        logging.getLogger("asyncio").disabled = True
        print(interrupted(args), file=sys.stderr)
        return 130
    except Exception as e:
        if not isinstance(e, user_errors()):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
