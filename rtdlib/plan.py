"""Dry-run plans: what a profile would run, roughly what it would cost and the disk its entries take,
without data or training. Time comes from fixed per-image constants of a 2-core CPU, or (`--calibrate`)
from a few training steps of every model the plan names, timed on the device this process computes on."""
from __future__ import annotations

import functools
import json
import time

from .config import canonical_json, from_dict, setting_of, to_dict
from .fits import CHANNELS, SIDES, data_cfgs, part_of, splits
from .profiles import PROFILES
from .sweeps import SWEEPS

# rough seconds per training image on a 2-core CPU, by encoder at 32x32 (the encoder's share scales with the
# pixel count): dry-run estimates only (measured wall times of a profile are in figures/<profile>/MANIFEST.md)
CPU_SEC_PER_IMAGE = {"small_vgg": 1 / 1000, "small_resnet": 1 / 1000, "vgg11": 1 / 130, "resnet18": 1 / 40}
HEAD_SEC_PER_IMAGE_PER_OUTPUT = 2.3e-3 / 2 ** 16  # the last layer's share, linear in m
FORWARD_SHARE = 1 / 3  # an evaluation pass costs about a third of a training step
CALIBRATION_STEPS = 2  # timed training steps per model, after one warm-up step

# what an entry of each kind stores besides its metrics, and which later notebooks read it
ARTIFACTS = {"distill": "student and teacher weights; the student is read by 05 (landscape planes), 06 and 07 "
                        "(start point theta*_S) and 10 (teacher of round two), the teacher by 05",
             "restart": "round two's student and teacher weights (read by no notebook); round one is a distill entry",
             "supervised": "final weights (read by 06 IMP and 07 pairs) and rewind checkpoints with optimizer state "
                           "(read by 06)",
             "lottery": "the final pruning masks (read by no notebook)",
             "peers": "every peer's weights (read by no notebook)",
             "landscape": "metrics only", "connectivity": "metrics only",
             "transfer": "metrics only; its teacher and student are a distill entry's, trained once for every target"}


def side(d) -> int:
    return d.image_size or SIDES.get(d.name, 32)


def rate_key(cfg, head: bool) -> tuple:
    """What a training step's cost depends on: the network, its input and batch, with or without the head."""
    d = part_of(cfg, "data")
    return (part_of(cfg, "model"), CHANNELS.get(d.name, 3), side(d), part_of(cfg, "batch_size"), head,
            getattr(cfg, "precision", "fp32"))


def per_image(cfg, head: bool = True, rates: dict | None = None) -> float:
    """Training seconds per image; supervised runs (and MSE peers) use the encoder without the head. `rates`:
    measured seconds per image by rate_key (calibrate), else the CPU constants."""
    if rates is not None:
        return rates[rate_key(cfg, head)]
    model, d = part_of(cfg, "model"), part_of(cfg, "data")
    pixels = (side(d) / 32) ** 2
    return CPU_SEC_PER_IMAGE.get(model.arch, 1 / 40) * pixels + head * HEAD_SEC_PER_IMAGE_PER_OUTPUT * model.out_dim


def steps_of(kind: str, cfg) -> list[tuple]:
    """(images, config, with head, share of a training step) of everything a run computes."""
    d = part_of(cfg, "data")
    n_train, n_test, _ = splits(d)
    n, test = min(d.train_size or n_train, n_train), min(d.test_size or n_test, n_test)
    if kind == "restart":
        return steps_of("distill", cfg.first) + steps_of("distill", cfg.second)
    if kind in ("distill", "peers"):  # a peer group trains k networks
        return [(cfg.epochs * n * getattr(cfg, "k", 1), cfg, getattr(cfg, "loss", "ce") == "ce", 1)]
    if kind == "supervised":
        return [(cfg.epochs * n, cfg, False, 1)]
    if kind == "lottery":  # every round retrains from the rewind point
        return [(cfg.rounds * (cfg.train.epochs - cfg.rewind_epoch) * n, cfg, False, 1)]
    if kind == "connectivity":  # every pair x gamma: BN re-estimation and a test pass
        pairs = len(cfg.orders) * (len(cfg.orders) - 1) // 2
        return [(pairs * cfg.gammas * ((cfg.recal_size or n) + test), cfg, False, FORWARD_SHARE)]
    if kind == "transfer":  # the target's train and test split through teacher and student (the input is free)
        t_train, t_test, _ = splits(cfg.probe_data)
        images = min(cfg.probe_data.train_size or t_train, t_train) + min(cfg.probe_data.test_size or t_test, t_test)
        return [(len(cfg.student.probe_nets) * images, cfg, True, FORWARD_SHARE)]
    if kind == "landscape":  # every grid point: the loss subset, and the probe features unless probes are off
        rows = cfg.directions if cfg.view == "lines" else cfg.resolution  # lines: one grid row per direction
        per_point = cfg.eval_size + (cfg.probe_train + cfg.probe_test if cfg.probes else 0)
        return [(rows * cfg.resolution * len(cfg.stack) * per_point, cfg, True, FORWARD_SHARE)]
    raise ValueError(f"no cost model for result kind {kind!r}")


def estimate_seconds(kind: str, cfg, rates: dict | None = None) -> float:
    """Training images seen x seconds per image; evaluation passes at FORWARD_SHARE of that."""
    return sum(images * per_image(c, head, rates) * share for images, c, head, share in steps_of(kind, cfg))


# ---------------------------------------------------------------- disk

@functools.lru_cache(maxsize=None)
def state_bytes(model, channels: int, head: bool = True) -> int:
    """Bytes of a network's state dict (float32 weights and buffers), built on the meta device (no memory)."""
    import torch

    from . import models
    with torch.device("meta"):
        net = models.build(model, channels)
    state = (net if head else net.encoder).state_dict()
    return sum(t.numel() * t.element_size() for t in state.values())


def entry_bytes(kind: str, cfg) -> int:
    """Disk of one entry's artifacts (ARTIFACTS; metrics are kilobytes and not counted)."""
    net = state_bytes(part_of(cfg, "model"), CHANNELS.get(part_of(cfg, "data").name, 3))
    if kind == "distill":
        return 2 * net
    if kind == "restart":  # round one's distill entry and round two's
        return 4 * net
    if kind == "peers":
        return cfg.k * net
    encoder = state_bytes(part_of(cfg, "model"), CHANNELS.get(part_of(cfg, "data").name, 3), head=False)
    if kind == "supervised":  # a rewind checkpoint holds the weights and SGD's momentum
        return encoder * (1 + 2 * len(cfg.save_epochs))
    if kind == "lottery":  # one bool per float32 weight
        return encoder // 4
    return 0


def size(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.0f} MB"


# ---------------------------------------------------------------- calibration

def calibrate(keys, device, log=print) -> dict:
    """Seconds per training image for every rate_key, timed on `device`: one warm-up step, then
    CALIBRATION_STEPS steps of the run's batch (random inputs) under the run's precision."""
    import torch

    from . import models
    from .config import resolved_precision
    from .distill import distill_loss
    rates = {}
    for key in dict.fromkeys(keys):
        model, channels, side_, batch, head, precision = key
        net = models.build(model, channels, seed=0).to(device).train()
        teacher = models.build(model, channels, seed=1).to(device).eval()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        x = torch.randn(batch, channels, side_, side_, device=device)
        bf16 = resolved_precision(precision, device) == "bf16"

        def step():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                if head:
                    with torch.no_grad():
                        target = teacher(x)
                    loss = distill_loss(net(x).float(), target.float())[0]
                else:  # a supervised step: the encoder and a cheap loss
                    loss = net.encoder(x).float().square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        def sync():
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        step()
        sync()
        t = time.perf_counter()
        for _ in range(CALIBRATION_STEPS):
            step()
        sync()
        rates[key] = (time.perf_counter() - t) / (CALIBRATION_STEPS * batch)
        log(f"  timed {model.arch}/{model.norm} m={model.out_dim} {side_}x{side_} batch {batch}"
            f"{'' if head else ' (encoder only)'} {'bf16' if bf16 else 'fp32'}: {rates[key] * batch:.3f} s/step")
        del net, teacher, opt
    return rates


def device_name(device) -> str:
    import platform

    import torch
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} ({device})"
    if device.type == "cpu":
        from .cpuinfo import fields
        cpu = fields().get("model name") or platform.processor() or "CPU"
        return f"{cpu}, {torch.get_num_threads()} threads"
    return str(device)


def describe(cfg) -> str:
    """One line per run: the fields a reader checks first, whichever kind of config it is."""
    if hasattr(cfg, "student"):  # a transfer: the distillation it reads, and the target
        return f"{describe(cfg.student)} probed on {cfg.probe_data.name}"
    model = part_of(cfg, "model")
    train = getattr(cfg, "train", cfg)  # lottery and connectivity wrap a supervised run
    fields = [f"{model.arch}/{model.norm}"]
    if hasattr(train, "start"):  # a supervised run: its start point's seed; its own seed is the data order
        fields.append(f"start={train.start} seed={train.distill.seed} order={train.seed}")
    fields += [f"{name}={getattr(cfg, name)}" for name in
               ("seed", "k", "rule", "loss", "epochs", "alpha", "rewind_epoch", "rounds", "orders", "view", "coords",
                "resolution") if hasattr(cfg, name) and not (name == "seed" and hasattr(train, "start"))]
    return " ".join(fields + [f"data={part_of(cfg, 'data').name}", f"out_dim={model.out_dim}"])


def rounds(cfg) -> list:
    """The runs a config stands for (a restart config holds two distillation rounds)."""
    return [cfg.first, cfg.second] if hasattr(cfg, "second") else [cfg]


def hours(secs: float, unit: str = "CPU") -> str:
    return f"~{secs / 3600:,.1f} {unit}-hours" if secs >= 3600 else f"~{secs / 60:.1f} {unit}-minutes"


def duration(secs: float) -> str:
    return f"~{secs:.1f} s" if secs < 10 else f"~{secs:.0f} s" if secs < 90 else f"~{secs / 60:.0f} min" if secs < 5400 else f"~{secs / 3600:.1f} h"


def recorded_seconds(store) -> dict:
    """{(kind, a setting's config without its seeds): wall times recorded} over the store and its published
    layers: a missing seed of a setting costs about what its other seeds did."""
    import statistics

    from .kinds import config_class
    times = {}
    for root in (store.root, *store.layers):
        for meta_path in root.glob("*/*/meta.json"):
            try:
                meta = json.loads(meta_path.read_text())
                cfg = from_dict(config_class(meta["kind"]), json.loads(meta["config_json"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged or foreign entry: the store warns when it is read
            times.setdefault(setting_key(meta["kind"], cfg), []).append(meta["wall_time_s"])
    return {k: statistics.median(v) for k, v in times.items()}


def setting_key(kind: str, cfg) -> tuple:
    """(kind, the config in today's form without its seeds): entries written by older code read the same."""
    return kind, json.dumps(setting_of(json.loads(canonical_json(to_dict(cfg)))), sort_keys=True)


def store_status(name: str, P, store) -> tuple[int, int, float, int]:
    """(runs the store holds, runs the notebook needs, estimated wall seconds to compute the others, how many of
    those estimates are recorded wall times of the same setting rather than the cost model) for the
    notebook's settings P (zeros for a notebook without sweeps)."""
    from .executor import default_workers
    have = total = recorded = 0
    secs, workers, known = 0.0, default_workers(), None
    for kind, make in SWEEPS.get(name, ()):
        for cfg in make(P):
            total += 1
            if store.get(kind, cfg):
                have += 1
                continue
            known = recorded_seconds(store) if known is None else known
            seen = known.get(setting_key(kind, cfg))
            recorded += seen is not None
            # recorded runs took their wall time each with one thread beside the other workers' runs
            secs += seen / workers if seen is not None else estimate_seconds(kind, cfg)
    return have, total, secs, recorded


def estimate(name: str, P, store) -> str:
    """What `run` and `figures` print before a notebook starts, e.g. "10 runs, ~35 min on 2 CPU cores for
    the 10 the store lacks (a rough estimate); the store has 0"; "" for a notebook without sweeps."""
    have, total, secs, recorded = store_status(name, P, store)
    if not total:
        return ""
    if have == total:
        return f"{total} runs, all in the store: redrawing only"
    missing = total - have
    basis = ("from the wall times recorded for their settings' other seeds" if recorded == missing else
             "from a rough 2-core CPU cost model" if not recorded else
             f"{recorded} from the wall times recorded for their settings' other seeds, {missing - recorded} from a "
             f"rough 2-core CPU cost model")
    return f"{total} runs, {duration(secs)} for the {missing} the store lacks ({basis}); the store has {have}"


def sweeps_of(name: str, profile: str, rates: dict | None = None):
    """(kind, configs, estimated seconds) of every sweep the notebook runs in the profile; [] if none."""
    if name not in SWEEPS or name not in PROFILES[profile]:
        return []
    P = PROFILES[profile][name]
    return [(kind, cfgs, sum(estimate_seconds(kind, c, rates) for c in cfgs))
            for kind, cfgs in ((kind, make(P)) for kind, make in SWEEPS[name])]


def print_plan(names, profile: str, calibrate_on=None) -> None:
    """The plan of `names`; with a device, time comes from steps timed there (calibrate), else from the CPU constants."""
    rates, unit = None, "CPU"
    if calibrate_on is not None:
        import torch
        device = torch.device(calibrate_on)
        unit = "GPU" if device.type == "cuda" else "device"
        print(f"calibrating on {device_name(device)}: {CALIBRATION_STEPS} timed steps of every model in the plan")
        keys = [rate_key(c, head) for n in names for kind, make in SWEEPS.get(n, ()) if n in PROFILES[profile]
                for cfg in make(PROFILES[profile][n]) for _, c, head, _ in steps_of(kind, cfg)]
        rates = calibrate(keys, device)
        print(f"plan for profile {profile!r}: time per run on {device_name(device)}, one run at a time "
              f"(workers on more devices divide the wall time)")
    else:
        print(f"plan for profile {profile!r}: time from per-image constants measured on a 2-core CPU, in CPU-hours; "
              f"`--calibrate` (make ... DRY_RUN=1 CALIBRATE=1) times a few steps of each model on this machine's "
              f"device instead")
    total, disk = 0.0, 0
    for name in names:
        planned = sweeps_of(name, profile, rates)
        if not planned:
            print(f"  {name}: no plan registered")
            continue
        for kind, cfgs, secs in planned:
            stored = sum(entry_bytes(kind, c) for c in cfgs)
            total, disk = total + secs, disk + stored
            print(f"  {name}: {len(cfgs)} {kind} runs, {hours(secs, unit)}, {size(stored)} of entries")
            for c in (r for cfg in cfgs for r in rounds(cfg)):
                print(f"    {describe(c)}")
    print(f"total: {hours(total, unit)}, {size(disk)} of entries (entries shared between notebooks are counted "
          f"once per notebook)")
    kinds = dict.fromkeys(kind for n in names for kind, _ in SWEEPS.get(n, ()))
    print("what entries store besides metrics, and who reads it:")
    for kind in kinds:
        print(f"  {kind}: {ARTIFACTS[kind]}")


def profile_datasets(profile: str) -> list[str]:
    """The built-in datasets every notebook of `profile` reads (from its run configs), sorted."""
    from .data import DATASETS
    names = {d.name for nb, stages in SWEEPS.items() if nb in PROFILES[profile]
             for _, make in stages for d in data_cfgs(make(PROFILES[profile][nb]))}
    return sorted(n for n in names if n in DATASETS)
