"""Dry-run plans: disk of the entries, calibrated time, the device named."""
import pytest

from rtdlib import plan
from rtdlib.config import DataCfg, DistillCfg, ModelCfg


def small(out_dim):
    return ModelCfg("small_vgg", "batch", 4, out_dim=out_dim, hidden_dim=32, bottleneck_dim=16)


def test_a_distill_entry_stores_student_and_teacher():
    from rtdlib import models
    cfg = DistillCfg(data=DataCfg("digits"), model=small(64))
    real = sum(t.numel() * t.element_size() for t in models.build(cfg.model, 1).state_dict().values())
    assert plan.entry_bytes("distill", cfg) == 2 * real  # the meta-device count equals a built network's
    # the head's last layer (bottleneck x m, no bias, float32) is the only part that grows with m
    bigger = DistillCfg(data=DataCfg("digits"), model=small(65))
    assert plan.entry_bytes("distill", bigger) - plan.entry_bytes("distill", cfg) == 2 * 16 * 4


def test_calibrated_rates_replace_the_cpu_constants(monkeypatch, capsys):
    monkeypatch.setattr(plan, "calibrate", lambda keys, device, log=print: {k: 0.5 for k in keys})
    plan.print_plan(["01_student_vs_teacher"], "smoke", calibrate_on="cpu")
    out = capsys.readouterr().out
    import torch
    # 4 runs (2 archs x 2 seeds) x 2 epochs x 512 images x 0.5 s = 2,048 s
    assert "01_student_vs_teacher: 4 distill runs, ~34.1 device-minutes" in out
    assert "2-core" not in out and f"time per run on {plan.device_name(torch.device('cpu'))}" in out


def test_calibration_times_every_model_once():
    cfg = DistillCfg(data=DataCfg("digits", image_size=8), model=small(8), batch_size=4)
    keys = [plan.rate_key(cfg, True), plan.rate_key(cfg, True), plan.rate_key(cfg, False)]
    import torch
    rates = plan.calibrate(keys, torch.device("cpu"), log=lambda *_: None)
    assert list(rates) == keys[1:] and all(r > 0 for r in rates.values())


def test_default_plan_says_its_time_is_cpu_hours(capsys):
    plan.print_plan(["02_locality"], "paper")
    out = capsys.readouterr().out
    assert "CPU-hours" in out and "--calibrate" in out
    # 84 runs, 42 per architecture, each storing student and teacher
    expected = 42 * 2 * sum(plan.state_bytes(ModelCfg(a, n, 64), 3) for a, n in (("resnet18", "batch"), ("vgg11", "none")))
    assert "84 distill runs" in out and f"{plan.size(expected)} of entries" in out


@pytest.mark.parametrize("kind", sorted(plan.ARTIFACTS))
def test_every_kind_says_what_it_stores(kind):
    from rtdlib.kinds import KINDS
    assert set(plan.ARTIFACTS) == set(KINDS) and plan.ARTIFACTS[kind]


def test_the_paper_transfer_distils_each_student_once_and_probes_it_per_target(capsys):
    plan.print_plan(["03_data_dependence"], "paper")
    out = capsys.readouterr().out
    # Fig. 4: 7 sizes x 2 inputs x 3 seeds = 42; Tables 2/4: 2 archs x 3 seeds distilled once (not 18 times)
    assert "48 distill runs" in out and "18 transfer runs" in out and "0 MB of entries" in out
    assert out.count("data=tiny-imagenet out_dim=65536 probed on ") == 18


def test_a_transfer_costs_forward_passes_of_the_target_through_every_probed_net():
    from rtdlib.transfer import TransferCfg
    cfg = TransferCfg(DistillCfg(data=DataCfg("digits"), model=small(64), probe_epochs=()),
                      DataCfg("fashion-mnist", train_size=2000, test_size=1000))
    # 5 probed nets (input, teacher and student, the latter two BN-recalibrated too) x 3,000 target images
    assert plan.steps_of("transfer", cfg) == [(5 * 3000, cfg, True, plan.FORWARD_SHARE)]
