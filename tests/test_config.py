import pytest

from rtdlib.config import SCHEMA_VERSION, ConfigError, DataCfg, DistillCfg, ModelCfg, config_hash, from_dict, replace, to_dict
from rtdlib.profiles import PROFILES, settings


def test_hash_is_stable_and_sensitive():
    a, b = DistillCfg(), DistillCfg()
    assert config_hash("distill", a) == config_hash("distill", b)
    assert config_hash("distill", a) != config_hash("distill", replace(a, seed=1))
    assert config_hash("distill", a) != config_hash("distill", replace(a, **{"model.norm": "none"}))
    assert config_hash("distill", a) != config_hash("other", a)


def test_settings_added_later_keep_old_hashes_at_their_default():
    import hashlib
    import json
    a = DistillCfg(precision="fp32")  # what entries stored before the `precision` field ran with
    # the config as stored before the `added` fields
    legacy = {k: v for k, v in to_dict(a).items()
              if k not in ("precision", "bias_weight_decay", "probe_steps", "drop_last")}
    legacy["probe"] = {k: v for k, v in legacy["probe"].items() if k != "linear_optimizer"}
    payload = json.dumps({"kind": "distill", "schema": SCHEMA_VERSION, "config": legacy}, sort_keys=True, separators=(",", ":"))
    assert config_hash("distill", a) == hashlib.sha256(payload.encode()).hexdigest()[:16]
    assert config_hash("distill", replace(a, precision="bf16")) != config_hash("distill", a)
    assert to_dict(a)["precision"] == "fp32"  # still recorded in the stored config
    # the default changed to "auto" since: a new default run must not read an fp32 entry as its own
    assert DistillCfg().precision == "auto"
    assert len({config_hash("distill", replace(a, precision=p)) for p in ("auto", "fp32", "bf16")}) == 3
    # keeping the last partial batch (the paper profile) is another run; dropping it (the default) is the old one
    assert config_hash("distill", replace(a, drop_last=False)) != config_hash("distill", a)


def test_round_trip_through_dict():
    cfg = DistillCfg(model=ModelCfg("resnet20", "group"), probe_data=DataCfg("fashion-mnist"), alpha=0.3)
    assert from_dict(DistillCfg, to_dict(cfg)) == cfg


@pytest.mark.parametrize("bad, match", [
    (lambda: DistillCfg(alpha=1.5), "alpha = 1.5 is outside"),
    (lambda: DistillCfg(alpha=-1e-9), "alpha"),
    (lambda: DistillCfg(alpha=float("nan")), "alpha"),
    (lambda: ModelCfg(arch="resnet9000"), "unknown architecture 'resnet9000'; allowed: .*resnet18"),
    (lambda: ModelCfg(norm="weird"), "unknown norm layer 'weird'"),
    (lambda: ModelCfg(head_parts=("lin1", "fn9")), "unknown head part 'fn9'"),
    (lambda: DataCfg(name="imagenet-22k"), "unknown dataset 'imagenet-22k'; allowed: .*fashion-mnist"),
    (lambda: DistillCfg(epochs=2, probe_epochs=(0, 5)), "probe epoch = 5 is outside"),
    (lambda: DistillCfg(precision="fp16"), "unknown precision 'fp16'; allowed: auto, fp32, bf16"),
    (lambda: from_dict(DistillCfg, {"alpah": 0.1}), "unknown DistillCfg setting"),
    (lambda: settings("01_student_vs_teacher", "huge"), "unknown profile 'huge'"),
    (lambda: settings("01_student_vs_teacher", "smoke", epocs=3), "unknown parameter 'epocs'"),
    (lambda: settings("01_student_vs_teacher", "smoke", epochs="ten"), "epochs = 'ten' has type str"),
    (lambda: settings("99_nothing", "smoke"), "unknown notebook '99_nothing'"),
])
def test_bad_settings_name_the_value(bad, match):
    with pytest.raises(ConfigError, match=match):
        bad()


def test_every_profile_covers_the_same_notebooks():
    assert set(PROFILES["smoke"]) == set(PROFILES["quick"]) == set(PROFILES["paper"])
    for nb in PROFILES["smoke"]:
        assert set(PROFILES["smoke"][nb]) == set(PROFILES["quick"][nb]) == set(PROFILES["paper"][nb]), nb
