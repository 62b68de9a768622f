"""`verify` at its two levels: bit for bit on the publisher's hardware, within the seed-to-seed spread on other
hardware (a faked fingerprint takes that path here); a broken engine fails both; a claim is compared by its
outcome and effect; every entry's meta records the hardware fingerprint."""
import json
import subprocess
import sys

import pytest

from conftest import tiny_cfg
from rtdlib import distill as distill_mod
from rtdlib import hardware, publish, verify
from rtdlib.distill import distill
from rtdlib.store import Store

def other_cpu(device):
    """This machine's fingerprint with another CPU: what verify sees when run on a machine unlike the publisher's."""
    return {**hardware.fingerprint(device), "cpu_vendor": "OtherVendor", "cpu_model": "Other CPU 9000",
            "cpu_family": "99/99/9", "isa": ["avx2", "fma", "amx_tile", "amx_bf16"]}


@pytest.fixture(scope="module")
def three_seeds(tmp_path_factory):
    """Three seeds of one tiny setting, published (computed on this machine, so with its fingerprint)."""
    root = tmp_path_factory.mktemp("verify")
    full = Store(root / "full", published=[])
    runs = [full.get_or_run("distill", tiny_cfg(seed=s, epochs=1, probe_epochs=(1,), probe_nets=("student",)), distill)
            for s in (0, 1, 2)]
    layer = root / "published" / "smoke"
    for r in runs:
        publish.write_entry(r, layer / "distill" / r.hash)
    return root, layer, runs


@pytest.fixture
def published(three_seeds, monkeypatch):
    root, layer, runs = three_seeds
    monkeypatch.setenv("RTD_PUBLISHED", str(root / "published"))
    return layer, runs


def wrong_teacher(s_logits, t_logits, tau_s=1.0, tau_t=1.0, _right=distill_mod.distill_loss):
    """A changed loss: the student is distilled towards a uniform teacher."""
    return _right(s_logits, 0 * t_logits, tau_s, tau_t)


def check(layer, runs, capsys, level="auto"):
    entry = layer / "distill" / runs[1].hash
    ok = verify.verify_entry(entry, Store(layer.parent.parent / f"recomputed-{level}", published=[]), level)
    return ok, capsys.readouterr().out


def test_meta_records_the_hardware_fingerprint(published):
    meta = json.loads((published[0] / "distill" / published[1][0].hash / "meta.json").read_text())
    assert meta["hardware"] == hardware.fingerprint("cpu")
    with open("/proc/cpuinfo") as f:
        vendor = next(line for line in f if line.startswith("vendor_id")).split(":")[1].strip()
    assert meta["hardware"]["cpu_vendor"] == vendor


def test_same_hardware_recomputes_bit_for_bit(published, capsys, tmp_path):
    ok, out = check(*published, capsys)
    assert ok and "same hardware, bit for bit: metrics equal" in out


def test_other_hardware_takes_the_tolerance_path(published, capsys, monkeypatch):
    monkeypatch.setattr(verify, "fingerprint", other_cpu)
    ok, out = check(*published, capsys)
    assert ok, out
    here = hardware.describe(hardware.fingerprint("cpu"))
    assert f"other hardware (published on {here}; differs in cpu_vendor, cpu_model, cpu_family, isa)" in out
    assert "within tolerance, max |Δ| 0 " in out and "0 metrics differ" in out  # this CPU recomputes it exactly


@pytest.mark.parametrize("level", ["exact", "tolerance"])
def test_a_broken_engine_fails_both_levels(published, capsys, monkeypatch, level):
    monkeypatch.setattr(distill_mod, "distill_loss", wrong_teacher)
    ok, out = check(*published, capsys, level)
    assert not ok
    line = next(line for line in out.splitlines() if line.startswith("MISMATCH"))
    assert ("same hardware, bit for bit" if level == "exact" else "other hardware (forced by --level tolerance)") in line


def test_tolerance_is_k_seed_sds_with_a_relative_floor():
    published = {"acc": 0.80, "input": 0.50, "steps": 128, "precision": "bf16", "net": "student",
                 "eval_seconds": 3.0}
    spread = {"acc": 0.01, "input": 0.0}
    assert verify.K_SD == 4 and verify.REL_FLOOR == 0.01
    # acc may move by 4 x 0.01 = 0.04; input by 1% of 0.50 = 0.005; the timing and the resolved precision are ignored
    near = {**published, "acc": 0.839, "input": 0.504, "precision": "fp32", "eval_seconds": 9.0}
    failures, worst = verify.within_tolerance(published, near, spread)
    assert failures == [] and worst["key"] == "acc" and worst["allowed"] == pytest.approx(0.04)
    far = {**near, "acc": 0.841, "input": 0.506, "net": "teacher"}
    failures, _ = verify.within_tolerance(published, far, spread)
    assert [(k, a) for k, _, _, a in failures] == [("acc", pytest.approx(0.04)), ("input", pytest.approx(0.005)),
                                                    ("net", None)]


def test_seed_spread_is_over_the_published_seeds_of_one_setting(published):
    layer, runs = published
    spread, seeds = verify.seed_spread(layer / "distill" / runs[0].hash)
    accs = [next(p["acc"] for p in r.metrics["probes"] if p["probe"] == "linear" and p["net"] == "student")
            for r in runs]
    key = next(k for k, v in verify.leaves(runs[0].metrics).items() if v == accs[0] and k.endswith(".acc"))
    mean = sum(accs) / 3
    assert seeds == 3
    assert spread[key] == pytest.approx((sum((a - mean) ** 2 for a in accs) / 2) ** 0.5)


def test_fingerprints_differ_in_the_deciding_fields_only():
    here = hardware.fingerprint("cpu")
    assert hardware.differing(here, dict(here)) == []
    assert hardware.differing(None, here) == ["fingerprint"]  # an entry from before fingerprints: other hardware
    assert hardware.differing({**here, "isa": here["isa"] + ["amx_bf16"]}, here) == ["isa"]


def test_a_claim_agrees_by_outcome_and_effect_within_the_published_ci(capsys):
    published = {"outcome": "supported", "effect": 2.0, "ci_low": 1.0, "ci_high": 3.0}
    assert verify.compare_claim("fig1", published, {**published, "effect": 2.9}, 1)
    assert not verify.compare_claim("fig1", published, {**published, "effect": 3.1}, 1)
    assert not verify.compare_claim("fig1", published, {**published, "outcome": "inconclusive"}, 1)
    assert not verify.compare_claim("fig1", published, None, 1)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok claim fig1: outcome supported as published, effect +2.9")
    assert "lies outside the CI" in out[1] and "outcome 'inconclusive' here, 'supported' published" in out[2]


def test_an_unknown_level_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "rtdlib", "verify", "--level", "roughly"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "'roughly'" in r.stderr and "'auto', 'exact', 'tolerance'" in r.stderr


def test_a_cuda_fingerprint_names_the_device_its_libraries_and_determinism(monkeypatch):
    import torch

    from rtdlib import determinism
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "NVIDIA A100-SXM4-40GB")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i: (8, 0))
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    fp = hardware.fingerprint("cuda")
    assert (fp["device_type"], fp["cuda_device"], fp["cuda_capability"], fp["cuda"], fp["cudnn"]) == (
        "cuda", "NVIDIA A100-SXM4-40GB", "8.0", "12.4", 90100)
    assert fp["deterministic"] == determinism.settings()
    assert hardware.describe(fp) == "NVIDIA A100-SXM4-40GB (sm 8.0), CUDA 12.4, cuDNN 90100, torch " + torch.__version__
    assert hardware.differing(fp, {**fp, "cuda_device": "NVIDIA H100"}) == ["cuda_device"]


@pytest.mark.notebook
def test_a_claim_recomputed_on_this_machine_agrees_with_the_published_one(tmp_path, monkeypatch, capsys):
    """The smoke run of 10 (Fig. 18) published, then `verify --claim` recomputes it from nothing."""
    import os

    from rtdlib import notebooks
    env = {**os.environ, "RTD_RESULTS": str(tmp_path / "results"), "RTD_PUBLISHED": "",
           "RTD_FIGURES": str(tmp_path / "figures"), "RTD_BUILD": str(tmp_path / "build"), "RTD_PROGRESS": "0"}
    run = subprocess.run([sys.executable, "-m", "rtdlib", "run", "10_restart", "--profile", "smoke"], env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    monkeypatch.setattr(notebooks, "FIGURES", tmp_path / "figures")
    monkeypatch.setenv("RTD_PUBLISHED", str(tmp_path / "published"))
    publish.publish("smoke", only=["10_restart"], results=tmp_path / "results")
    known = verify.claims("smoke")
    assert set(known) == {"fig18_round2_does_not_begin", "fig18_round2_probe_unchanged"}
    capsys.readouterr()
    assert verify.verify_claim("smoke", "cheapest")
    out = capsys.readouterr().out
    assert f"ok claim {next(iter(known))}: outcome {known[next(iter(known))][1]['outcome']} as published" in out
    with pytest.raises(ValueError, match=r"unknown claim 'fig99'; allowed \(cheapest first\): cheapest, fig18_"):
        verify.verify_claim("smoke", "fig99")


def test_cpuinfo_fields_of_the_first_processor_and_the_bf16_flags_they_list(tmp_path, monkeypatch):
    from rtdlib import config, cpuinfo
    text = ("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon: 8480+\nflags\t\t: fpu avx2 amx_bf16 "
            "avx512_bf16\n\nprocessor\t: 1\nvendor_id\t: Other\n")
    (tmp_path / "cpuinfo").write_text(text)
    got = cpuinfo.fields(tmp_path / "cpuinfo")
    assert got == {"processor": "0", "vendor_id": "GenuineIntel", "model name": "Xeon: 8480+",
                   "flags": "fpu avx2 amx_bf16 avx512_bf16"}
    assert cpuinfo.fields(tmp_path / "none") == {}  # no such file, e.g. macOS
    monkeypatch.setattr(cpuinfo, "fields", lambda: got)
    assert config.cpu_bf16_flags() == ["avx512_bf16", "amx_bf16"]
    assert hardware.fingerprint("cpu")["cpu_vendor"] == "GenuineIntel"
    monkeypatch.setattr(cpuinfo, "fields", lambda: {})
    assert config.cpu_bf16_flags() == [] and hardware.fingerprint("cpu")["isa"] == []
