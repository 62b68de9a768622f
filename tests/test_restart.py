"""The second round of distillation: its teacher is the first round's student, loaded and frozen."""
import pytest
import torch

from conftest import TINY_MODEL, tiny_cfg
from rtdlib.config import ConfigError, replace
from rtdlib.distill import distill
from rtdlib.restart import RestartCfg, restart


def rounds(**changes):
    first = replace(tiny_cfg(epochs=2, probe_epochs=(2,)), **changes)
    return RestartCfg(first, replace(first, epochs=1, probe_epochs=(0, 1)))


def test_second_teacher_is_the_stored_first_student_and_stays_frozen(store):
    cfg = rounds()  # TINY_MODEL has BN: running statistics must come along and stay put
    calls = []
    first = store.get_or_run("distill", cfg.first, lambda c, r: calls.append(1) or distill(c, r))
    second = store.get_or_run("restart", cfg, restart)
    assert calls == [1] and second.metrics["first"] == first.hash  # round 1 read from the store, not recomputed
    student1, teacher2 = first.load("student"), second.load("teacher")
    assert set(student1) == set(teacher2) and any("running_mean" in k for k in teacher2)
    assert all(torch.equal(student1[k], teacher2[k]) for k in student1)
    h = second.metrics["history"]
    assert h[0]["dist_teacher"] < 1e-6 and h[-1]["dist_init"] > 0  # starts at the new teacher, then trains
    assert {p["net"] for p in second.metrics["probes"]} >= {"teacher", "teacher_bnrecal", "student"}


def test_restart_computes_a_missing_first_round_in_the_same_store(store):
    cfg = rounds(**{"model.norm": "none"})
    second = store.get_or_run("restart", cfg, restart)
    first = store.get("distill", cfg.first)
    assert first is not None and second.metrics["first"] == first.hash
    # without BN an exact copy has KL 0: the second student starts on its teacher's function
    t_probe = [p["acc"] for p in second.metrics["probes"] if p["net"] == "teacher" and p["probe"] == "linear"]
    s1_probe = [p["acc"] for p in first.metrics["probes"] if p["net"] == "student" and p["probe"] == "linear"
                and p["epoch"] == cfg.first.epochs]
    assert t_probe[0] == pytest.approx(s1_probe[0], abs=1e-6)  # round-2 teacher probes as the round-1 student


def test_restart_rejects_a_different_model():
    first = tiny_cfg()
    with pytest.raises(ConfigError, match="must equal the first round"):
        RestartCfg(first, replace(first, **{"model.width": TINY_MODEL.width * 2}))
