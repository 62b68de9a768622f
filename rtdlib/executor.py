"""Run many independent configs through the results store.

Entries the store lacks are computed either in this process (`workers=1`, PyTorch using every core
for one run) or by a pool of worker processes with one PyTorch thread each. For the small nets of
the quick profile, two single-threaded workers and one two-threaded process finish a sweep about
equally fast on this 2-core machine (1.00-1.03x, bench/executor.py); the pool is the default
whenever an entry is missing because every entry is then computed with one thread, so its numbers
do not depend on how many other entries happened to be missing, and it scales with cores. On CUDA the
default is one worker per GPU, each on its own GPU. Either way results land in the same store entries, so an
interrupted sweep resumes where it stopped. RTD_WORKERS overrides the default.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor, as_completed

from .kinds import engine
from .progress import bar, line
from .store import Store

EXECUTORS = ("local", "slurm")
# submitit executor parameters a cluster.json may set (passed through unchanged)
CLUSTER_KEYS = ("cluster", "log_folder", "slurm_partition", "timeout_min", "gpus_per_node", "cpus_per_task",
                "mem_gb", "slurm_array_parallelism", "slurm_account", "slurm_qos", "slurm_additional_parameters")


def default_workers() -> int:
    """RTD_WORKERS if set, else one worker per GPU in use on CUDA, else one worker per core."""
    env = os.environ.get("RTD_WORKERS")
    if env is not None:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"RTD_WORKERS = {env!r} must be a positive integer")
        return int(env)
    return len(gpus()) or os.cpu_count() or 1


def gpus() -> list[int]:
    """The GPUs entries are computed on: every visible one for the device "cuda", the one named by cuda:N,
    none on a CPU or mps."""
    from .config import default_device
    device = default_device()
    if not device.startswith("cuda"):
        return []
    import torch
    return list(range(torch.cuda.device_count())) if device == "cuda" else [int(device.partition(":")[2])]


def run_all(kind: str, cfgs, store: Store | None = None, workers: int | None = None):
    """Results for every config (in order), computing what the store does not hold yet.

    workers=1 computes missing entries one after another in this process; workers=k > 1 in k
    spawned processes with one PyTorch thread each. Default: default_workers().
    """
    store = store or Store()
    fn = engine(kind)
    cfgs = list(cfgs)
    workers = default_workers() if workers is None else workers
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers = {workers!r} must be a positive integer")
    found = [store.get(kind, c) for c in cfgs]  # each entry's checksums are verified once, here
    missing = list({store.path(kind, c): c for c, r in zip(cfgs, found) if r is None}.values())
    if missing:
        line(f"{kind}: {sum(r is not None for r in found)} of {len(cfgs)} runs in the store, "
             f"computing {len(missing)} entries")
    if missing and executor_name() == "slurm":
        compute_on_cluster(kind, missing, store)
    elif workers > 1 and missing:  # even one entry: its numbers must not depend on what was cached
        compute_in_pool(kind, missing, store, min(workers, len(missing)))
    # what was missing now exists (or is computed here); the runner's manifest logs every entry used
    out = []
    for cfg, result in zip(cfgs, bar(found, desc=f"{kind} runs")):
        if result:
            store.log_use(result, computed=False)
        out.append(result or store.get_or_run(kind, cfg, fn))
    return out


def executor_name() -> str:
    """RTD_EXECUTOR: "local" (this machine's cores, the default) or "slurm" (submitit)."""
    name = os.environ.get("RTD_EXECUTOR", "local")
    if name not in EXECUTORS:
        raise ValueError(f"RTD_EXECUTOR = {name!r} is unknown; allowed: {', '.join(EXECUTORS)}")
    return name


def cluster_settings() -> dict:
    """The Slurm settings file: RTD_CLUSTER_CONFIG, default cluster.json (see cluster.example.json).

    A relative path is taken from the project root, not from the kernel's working directory, which
    is notebooks/."""
    from .paths import project_root
    root = project_root()
    path = (root / os.environ.get("RTD_CLUSTER_CONFIG", "cluster.json")).resolve()
    if not path.is_file():
        raise ValueError(f"no cluster settings at {path}; copy cluster.example.json there and edit it")
    settings = json.loads(path.read_text())
    unknown = sorted(set(settings) - set(CLUSTER_KEYS))
    if unknown:
        raise ValueError(f"unknown cluster setting(s) {unknown} in {path}; allowed: {', '.join(CLUSTER_KEYS)}")
    return settings


def compute_on_cluster(kind: str, cfgs, store: Store) -> None:
    """One Slurm array task per missing entry; every task writes into the shared results store."""
    import submitit
    settings = cluster_settings()
    folder = Path(settings.get("log_folder", store.root / ".submitit")).resolve()
    ex = submitit.AutoExecutor(folder=folder, cluster=settings.get("cluster"))  # "local" runs on this machine
    ex.update_parameters(**{k: v for k, v in settings.items() if k not in ("cluster", "log_folder")})
    jobs = ex.map_array(_compute, [kind] * len(cfgs), cfgs, [str(store.root)] * len(cfgs))
    for job in bar(jobs, desc=f"{kind} runs (slurm, {len(jobs)} tasks)"):
        job.result()  # re-raises a task's exception here, with its log path


def compute_in_pool(kind: str, cfgs, store: Store, workers: int) -> None:
    ctx = multiprocessing.get_context("spawn")  # fork after PyTorch's thread pools start is unsafe
    on, devices = gpus(), None
    if on:  # worker i computes on GPU i (round robin when there are more workers than GPUs)
        devices = ctx.Queue()
        for i in range(workers):
            devices.put(on[i % len(on)])
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(devices,)) as pool:
        futures = [pool.submit(_compute, kind, cfg, str(store.root)) for cfg in cfgs]
        for f in bar(as_completed(futures), total=len(futures), desc=f"{kind} runs ({workers} workers)"):
            f.result()  # re-raises a worker's exception here


def _init_worker(devices=None) -> None:
    import torch
    torch.set_num_threads(1)
    if devices is not None:
        torch.cuda.set_device(devices.get())  # "cuda" in this worker now means its own GPU
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the process that started it dies (a killed `make figures`
    must not leave workers finishing entries nobody waits for; their checkpoints resume the work)."""
    import ctypes
    import signal
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: workers end when they find the call queue closed
    # RTD_USED_LOG stays set: workers log what they compute, the parent what it reads back


def _compute(kind: str, cfg, root: str) -> str:
    return Store(root).get_or_run(kind, cfg, engine(kind)).hash
