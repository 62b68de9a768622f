"""What decides whether a recompute can equal a stored run bit for bit: the hardware fingerprint.

The same code, config and PyTorch build give bit-identical numbers only where the same kernels run.
On a CPU that is decided by the vendor and model (MKL and oneDNN dispatch on them), the instruction
sets they dispatch to (AVX2, AVX-512, avx512_bf16, AMX) and the library versions; on CUDA by the
device, its compute capability, the CUDA/cuDNN versions and the determinism settings. Every store
entry's meta.json records this fingerprint; `verify` checks bit for bit where it is equal and
statistically where it is not (rtdlib/verify.py).
"""
from __future__ import annotations

import re

from . import cpuinfo

# ISA flags (as /proc/cpuinfo names them) that change which CPU kernels PyTorch, MKL and oneDNN run
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")
# the fields that must be equal for a bit-for-bit comparison (threads, recorded beside the fingerprint in
# meta.json, are not: verify recomputes with the published thread count)
DECIDING = ("device_type", "cpu_vendor", "cpu_model", "cpu_family", "isa", "cpu_capability", "torch", "mkl",
            "onednn", "cuda_device", "cuda_capability", "cuda", "cudnn", "deterministic")


def library_versions() -> dict:
    """MKL and oneDNN versions of this PyTorch build, from torch.__config__.show()."""
    import torch
    shown = torch.__config__.show()
    mkl = re.search(r"Math Kernel Library Version ([\d.]+)", shown)
    onednn = re.search(r"(?:oneDNN|MKL-DNN) v([\d.]+)", shown)
    return {"mkl": mkl.group(1) if mkl else None, "onednn": onednn.group(1) if onednn else None}


def fingerprint(device) -> dict:
    """The hardware fingerprint of `device` ("cpu", "cuda", "cuda:1", "mps") on this machine."""
    import platform

    import torch
    device = torch.device(device)
    info = cpuinfo.fields()
    flags = set(info.get("flags", "").split())
    out = {"device_type": device.type, "machine": platform.machine(),
           "cpu_vendor": info.get("vendor_id"), "cpu_model": info.get("model name"),
           "cpu_family": "/".join(info[k] for k in ("cpu family", "model", "stepping") if k in info) or None,
           "isa": [f for f in ISA_FLAGS if f in flags], "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "torch": torch.__version__, **library_versions(),
           "cuda_device": None, "cuda_capability": None, "cuda": None, "cudnn": None, "deterministic": None}
    if device.type == "cuda":
        from .determinism import settings
        index = device.index if device.index is not None else torch.cuda.current_device()
        out.update(cuda_device=torch.cuda.get_device_name(index),
                   cuda_capability=".".join(map(str, torch.cuda.get_device_capability(index))),
                   cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   deterministic=settings())
    return out


def differing(published: dict | None, here: dict) -> list[str]:
    """The deciding fields in which two fingerprints differ; ["fingerprint"] when the published one was
    never recorded (an entry older than fingerprints), which counts as other hardware."""
    if not published:
        return ["fingerprint"]
    return [k for k in DECIDING if published.get(k) != here.get(k)]


def describe(fp: dict | None) -> str:
    """One line: 'AuthenticAMD AMD EPYC (25/17/1; avx512_bf16, no AMX), torch 2.14.1, oneDNN 3.12.0'."""
    if not fp:
        return "hardware not recorded"
    if fp.get("device_type") == "cuda":
        return (f"{fp['cuda_device']} (sm {fp['cuda_capability']}), CUDA {fp['cuda']}, cuDNN {fp['cudnn']}, "
                f"torch {fp['torch']}")
    bf16 = [f for f in fp.get("isa", ()) if "bf16" in f]
    units = ", ".join(bf16) if bf16 else "no bf16 units"
    amx = "" if any(f.startswith("amx") for f in fp.get("isa", ())) else ", no AMX"
    return (f"{fp.get('cpu_vendor')} {fp.get('cpu_model')} ({fp.get('cpu_family')}; {units}{amx}), "
            f"torch {fp.get('torch')}, oneDNN {fp.get('onednn')}, MKL {fp.get('mkl')}")
