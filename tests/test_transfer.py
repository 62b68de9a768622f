import pytest
from conftest import tiny_cfg

from rtdlib import distill as D
from rtdlib import transfer as T
from rtdlib.config import ConfigError, DataCfg, replace
from rtdlib.transfer import TransferCfg


def test_one_distillation_serves_every_target_with_the_probes_of_a_run_probed_there(store, stripes_data, monkeypatch):
    student = tiny_cfg(epochs=1, probe_epochs=())
    targets = [stripes_data, DataCfg("digits", train_size=128, test_size=64)]
    trained, real = [], D.distill
    monkeypatch.setattr(T, "distill", lambda *a, **k: trained.append(a[0]) or real(*a, **k))
    got = [store.get_or_run("transfer", TransferCfg(student, t), T.transfer) for t in targets]
    assert trained == [student]  # one distillation, read by the second target's entry
    assert {r.metrics["student"] for r in got} == {store.get("distill", student).hash}
    for target, r in zip(targets, got):
        D.CONSTANT_PROBES.clear()
        probed_there = real(replace(student, probe_data=target, probe_epochs=(1,)), device="cpu")
        assert r.metrics["probes"] == probed_there["probes"]
        assert {p["net"] for p in r.metrics["probes"]} == {"input", "teacher", "teacher_bnrecal", "student",
                                                           "student_bnrecal"}


def test_a_student_with_its_own_probe_data_is_refused(stripes_data):
    with pytest.raises(ConfigError, match="probe_data must be unset"):
        TransferCfg(tiny_cfg(probe_data=stripes_data), stripes_data)
