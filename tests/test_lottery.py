"""Supervised recipe, IMP pruning arithmetic, masks, rewinding and resuming, on tiny nets and digits."""
import io

import pytest
import torch
from torch import nn

from conftest import tiny_cfg
from rtdlib import lottery as L
from rtdlib import supervised as S
from rtdlib.config import ConfigError, DataCfg, replace
from rtdlib.store import Run


def sup_cfg(**kw):
    base = dict(distill=tiny_cfg(epochs=1, probe_epochs=()), data=DataCfg("digits", train_size=256, test_size=128),
                epochs=3, batch_size=64, crop_pad=1, flip=True, save_epochs=(1, 2))
    base.update(kw)
    return S.SupervisedCfg(**base)


def tiny_net(cfg=None, store=None, num_classes=10):
    return S.start_point(cfg or sup_cfg(), num_classes=num_classes, in_channels=1, store=store)


def test_lr_schedule_divides_by_ten_at_half_and_three_quarters():
    cfg = sup_cfg(epochs=8)
    assert [S.lr_at(cfg, e) for e in range(1, 9)] == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)


def test_augmentation_depends_on_example_not_batch_position():
    x = torch.randint(0, 256, (50, 1, 8, 8), dtype=torch.uint8)
    cfg = sup_cfg(crop_pad=2)
    idx = torch.arange(20)
    perm = torch.randperm(20)
    a, b = S.augment(x, idx, cfg, epoch=3), S.augment(x, idx[perm], cfg, epoch=3)
    assert torch.equal(a[perm], b)
    assert not torch.equal(a, S.augment(x, idx, cfg, epoch=4))  # fresh draws every epoch
    assert not torch.equal(a, x[idx])
    assert torch.equal(S.augment(x, idx, sup_cfg(crop_pad=0, flip=False), 3), x[idx])
    flipped = S.augment(x, idx, sup_cfg(crop_pad=0, flip=True), 3)  # flips only: each image or its mirror
    assert all(torch.equal(f, o) or torch.equal(f, o.flip(-1)) for f, o in zip(flipped, x[idx]))


def test_global_magnitude_pruning_arithmetic():
    net = tiny_net()
    with torch.no_grad():
        net.fc.weight.add_(net.fc.weight.sign() * 10)  # all |w| > 10: global pruning spares the layer, layer-wise would not
    masks = L.Masks(net, "weights")
    total = masks.total()
    assert total == sum(p.numel() for n, p in net.named_parameters()
                        if n.endswith("weight") and p.dim() > 1)
    expected = total
    for _ in range(3):
        before = {n: p.detach().abs().clone() for n, p in masks.params.items()}
        alive = {n: m.clone() for n, m in masks.masks.items()}
        k = masks.prune(0.2)
        assert k == round(0.2 * expected)
        expected -= k
        assert masks.remaining() == expected
        pruned = torch.cat([before[n][alive[n] & ~masks.masks[n]] for n in before])
        kept = torch.cat([before[n][masks.masks[n]] for n in before])
        assert len(pruned) == k and pruned.max() <= kept.min()  # one global threshold
    assert masks.masks["fc.weight"].all()
    assert masks.fraction() == pytest.approx(0.8 ** 3, abs=2 / total)
    assert all((p[~masks.masks[n]] == 0).all() for n, p in masks.params.items())


def test_all_parameters_scope_includes_biases_and_norm_affines():
    net = tiny_net()
    assert set(L.prunable(net, "all")) == {n for n, _ in net.named_parameters()}
    names = set(L.prunable(net, "weights"))
    assert "fc.weight" in names and not any(n.endswith("bias") for n in names)
    assert not any("1.weight" in n and p.dim() == 1 for n, p in L.prunable(net, "weights").items())


def test_masks_survive_sgd_momentum_weight_decay_and_checkpoint_round_trip():
    cfg = sup_cfg()
    ds, net, _ = S.prepare(cfg, torch.device("cpu"))
    masks = L.Masks(net, "weights")
    masks.prune(0.5)
    opt = S.make_optimizer(net, cfg)
    S.train_epochs(net, opt, ds, cfg, range(1, 2), masks=masks)
    for n, p in masks.params.items():
        assert (p[~masks.masks[n]] == 0).all(), n
        assert (opt.state[p]["momentum_buffer"][~masks.masks[n]] == 0).all(), n
    assert all((p[masks.masks[n]] != 0).float().mean() > 0.9 for n, p in masks.params.items())
    # control: without masks the same step revives pruned weights, so the checks above can fail
    S.train_epochs(net, opt, ds, cfg, range(2, 3))
    assert any((p[~masks.masks[n]] != 0).any() for n, p in masks.params.items())
    buf = io.BytesIO()
    torch.save(masks.state_dict(), buf)
    other = L.Masks(tiny_net(cfg), "weights")
    other.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    assert all(torch.equal(other.masks[n], masks.masks[n]) for n in masks.masks)
    assert all((p[~other.masks[n]] == 0).all() for n, p in other.params.items())


def test_rewinding_restores_saved_weights_and_optimizer_state(store):
    cfg = sup_cfg()
    dense = store.get_or_run("supervised", cfg, S.supervised)
    ckpt = dense.load("rewind_2")
    assert ckpt["opt"]["state"] and all("momentum_buffer" in s for s in ckpt["opt"]["state"].values())
    net = tiny_net(cfg)
    masks = L.Masks(net, "weights")
    opt = L.rewind(net, cfg, ckpt["net"], ckpt["opt"], masks)  # all-ones masks: an exact restore
    assert all(torch.equal(v, ckpt["net"][k]) for k, v in net.state_dict().items())
    restored = opt.state_dict()
    for i, s in ckpt["opt"]["state"].items():
        assert torch.equal(restored["state"][i]["momentum_buffer"], s["momentum_buffer"])
    assert restored["param_groups"][0]["lr"] == ckpt["opt"]["param_groups"][0]["lr"]
    assert not torch.equal(ckpt["net"]["fc.weight"], dense.load("final")["fc.weight"])
    masks.prune(0.3)
    opt = L.rewind(net, cfg, ckpt["net"], ckpt["opt"], masks)
    sd = net.state_dict()
    for n, m in masks.masks.items():
        assert torch.equal(sd[n], ckpt["net"][n] * m)
    index = {p: i for i, p in enumerate(net.parameters())}
    for n, p in masks.params.items():
        saved = ckpt["opt"]["state"][index[p]]["momentum_buffer"]
        assert torch.equal(opt.state[p]["momentum_buffer"], saved * masks.masks[n])


def test_supervised_is_deterministic_and_student_start_differs(store):
    cfg = sup_cfg(epochs=2, save_epochs=())
    a = S.supervised(cfg, device="cpu")
    b = S.supervised(cfg, device="cpu")
    assert a == b
    init_enc = tiny_net(cfg).encoder.state_dict()
    student = tiny_net(replace(cfg, start="student"), store)  # distills into the test's store
    assert any(not torch.equal(v, student.encoder.state_dict()[k]) for k, v in init_enc.items()
               if v.is_floating_point())
    assert torch.equal(student.fc.weight, tiny_net(cfg).fc.weight)  # same classifier init


def test_imp_run_stores_every_round_and_resumes_after_interruption(store, tmp_path, monkeypatch, stripes_data):
    cfg = L.LotteryCfg(train=sup_cfg(data=stripes_data, epochs=2, batch_size=32, save_epochs=(1,)), rewind_epoch=1,
                       rounds=2)
    full = store.get_or_run("lottery", cfg, L.lottery).metrics
    rows = full["rounds"]
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert [r["remaining"] for r in rows] == pytest.approx([1, 0.8, 0.64], abs=1e-3)
    # the stripes are learnt (chance 0.25) by the dense net and by every pruned, rewound and retrained one
    assert [(r["test_acc"], r["train_acc"]) for r in rows] == [(1.0, 1.0)] * 3
    assert rows[-1]["nonzero_all"] < rows[0]["nonzero_all"]
    net = tiny_net(cfg.train, store, num_classes=4)  # the stripes: 4 classes
    assert full["dense"] == store.get("supervised", cfg.train).hash
    assert (full["prunable"], full["parameters"]) == (L.Masks(net).total(), sum(p.numel() for p in net.parameters()))
    masks = store.get("lottery", cfg).load("masks")  # the last round's masks: 0.64 of the weights remain
    assert sum(int(m.sum()) for m in masks.values()) / full["prunable"] == pytest.approx(rows[-1]["remaining"])
    monkeypatch.setenv("RTD_RESULTS", str(store.root))  # without a run (no checkpoints): the same line
    assert L.lottery(cfg, None, device="cpu")["rounds"] == rows

    calls = []
    real = S.train_epochs

    def dies_in_round_2(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)

    run = Run(store.root / "lottery" / "interrupted")  # same store: the dense run is reused
    run.path.mkdir(parents=True)
    monkeypatch.setattr(L, "train_epochs", dies_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        L.lottery(cfg, run, device="cpu")
    assert run.resume()["round"] == 1
    calls.clear()
    resumed = L.lottery(cfg, run, device="cpu")
    assert len(calls) == 1  # only the unfinished round ran again
    assert resumed["rounds"] == rows  # identical to the uninterrupted run


@pytest.mark.parametrize("make, message", [
    (lambda: L.LotteryCfg(train=sup_cfg(), prune_fraction=0.0), "prune_fraction = 0.0 is outside (0.0, 1.0)"),
    (lambda: L.LotteryCfg(train=sup_cfg(), prune_fraction=1.2), "prune_fraction = 1.2 is outside (0.0, 1.0)"),
    (lambda: L.LotteryCfg(train=sup_cfg(), rewind_epoch=7), "rewind_epoch = 7 is beyond training; allowed: 0 .. 2"),
    (lambda: L.LotteryCfg(train=sup_cfg(save_epochs=(1,)), rewind_epoch=2), "rewind_epoch = 2 has no saved checkpoint"),
    (lambda: sup_cfg(save_epochs=(5,)), "rewind epoch 5 is beyond training; allowed: 1 .. 2"),
    (lambda: L.LotteryCfg(train=sup_cfg(), prune_scope="biases"), "unknown prune scope 'biases'"),
    (lambda: sup_cfg(start="teacher"), "unknown start point 'teacher'"),
    (lambda: L.Masks(tiny_net()).prune(1.0), "prune fraction = 1.0 is outside (0.0, 1.0)"),
    (lambda: L.LotteryCfg(train=sup_cfg(), rounds=-1), "rounds = -1 is outside [0, 1000]"),
    (lambda: L.LotteryCfg(train=sup_cfg(), rounds=1001), "rounds = 1001 is outside [0, 1000]"),
    (lambda: L.LotteryCfg(train=sup_cfg(), rewind_epoch=3), "rewind_epoch = 3 is beyond training; allowed: 0 .. 2 "
                                                            "(epochs = 3)"),
    (lambda: L.LotteryCfg(train=sup_cfg(), rewind_epoch=True), "rewind_epoch = True is beyond training"),
    (lambda: L.LotteryCfg(train=sup_cfg(save_epochs=(2,)), rewind_epoch=1),
     "rewind_epoch = 1 has no saved checkpoint; allowed: 0 or one of train.save_epochs = (2,)"),
    (lambda: L.prunable(tiny_net(), "some"), "unknown prune scope 'some'"),
])
def test_bad_input_is_one_clear_line(make, message):
    with pytest.raises(ConfigError) as e:
        make()
    assert message in str(e.value) and "\n" not in str(e.value)


def test_config_bounds_that_are_allowed():
    assert [L.LotteryCfg(train=sup_cfg(), rounds=n).rounds for n in (0, 1000)] == [0, 1000]
    assert L.LotteryCfg(train=sup_cfg(save_epochs=(1,)), rewind_epoch=1).rewind_epoch == 1


def test_prunable_defaults_to_conv_and_linear_weights_and_names_a_bare_layer_weight():
    net = tiny_net()
    assert L.prunable(net) == L.prunable(net, "weights") and all(k.endswith(".weight") for k in L.prunable(net))
    layer = nn.Linear(3, 2)
    assert list(L.prunable(layer)) == ["weight"] and L.prunable(layer)["weight"] is layer.weight
    assert L.Masks(layer, "all").total() == 3 * 2 + 2  # the scope reaches the masks: biases too


def test_masks_load_as_booleans_and_a_wrong_shape_is_named():
    layer = nn.Linear(2, 2)
    masks = L.Masks(layer)
    masks.load_state_dict({"weight": torch.tensor([[1.0, 0.0], [0.0, 1.0]])})
    assert masks.masks["weight"].dtype == torch.bool and masks.remaining() == 2 and layer.weight[0, 1] == 0
    with pytest.raises(ValueError) as e:
        masks.load_state_dict({"weight": torch.ones(3, dtype=torch.bool)})
    assert str(e.value) == "mask weight has shape (3,), expected (2, 2)"
    with pytest.raises(ValueError) as e:
        L.Masks(tiny_net()).load_state_dict({n: torch.ones(1) for n in "abcd"})
    assert str(e.value).startswith("masks do not fit this network: got ['a', 'b', 'c']..., expected [")
    assert str(e.value).count("'") == 2 * 3 + 2 * 3  # three names of each


def test_nonzero_fraction_by_hand():
    layer = nn.Linear(3, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 2.0, 0.0]]))
        layer.bias.zero_()
    assert L.nonzero_fraction(layer) == 1 / 4


def test_mismatched_architecture_is_one_clear_line():
    wide = replace(sup_cfg(), **{"distill.model.width": 8})
    sd = tiny_net(wide).state_dict()
    with pytest.raises(ValueError, match=r"^checkpoint does not fit this architecture: .* has shape") as e:
        S.load_checked(tiny_net(), sd, "checkpoint")
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="masks do not fit this network"):
        L.Masks(tiny_net()).load_state_dict({"x": torch.ones(2, dtype=torch.bool)})


@pytest.mark.parametrize("ell", [0, 1])
def test_every_round_retrains_from_the_rewind_point(store, monkeypatch, ell):
    """Each round starts from the rewind point (theta_S and a fresh optimizer, or the dense run's epoch-ell
    weights and momentum), masked, never from the previous round's trained weights."""
    cfg = L.LotteryCfg(train=sup_cfg(epochs=2, save_epochs=(1,)), rewind_epoch=ell, rounds=2)
    starts, real = [], L.train_epochs

    def recording(net, opt, ds, train_cfg, epochs, masks=None, **kw):
        starts.append((list(epochs), {k: v.clone() for k, v in net.state_dict().items()},
                       {n: m.clone() for n, m in masks.masks.items()},
                       {i: s["momentum_buffer"].clone() for i, s in opt.state_dict()["state"].items()}))
        return real(net, opt, ds, train_cfg, epochs, masks, **kw)

    monkeypatch.setattr(L, "train_epochs", recording)
    run = Run(store.root / "lottery" / "line")  # its dense run goes to the test's store
    run.path.mkdir(parents=True)
    L.lottery(cfg, run, device="cpu")
    dense = store.get("supervised", cfg.train)
    point = dense.load("rewind_1") if ell else {"net": tiny_net(cfg.train).state_dict(), "opt": None}
    assert len(starts) == 2
    for epochs, weights, masks, momentum in starts:
        assert epochs == list(range(ell + 1, 3))
        for k, v in weights.items():
            expected = point["net"][k] * masks[k] if k in masks else point["net"][k]
            assert torch.equal(v, expected), k
        if ell == 0:
            assert momentum == {}
        else:
            index = {n: i for i, (n, _) in enumerate(tiny_net(cfg.train).named_parameters())}
            saved = point["opt"]["state"]
            assert all(torch.equal(momentum[i], saved[i]["momentum_buffer"] * masks.get(n, 1))
                       for n, i in index.items())
    assert not torch.equal(starts[0][2]["fc.weight"], starts[1][2]["fc.weight"])  # round 2 prunes further


def test_a_line_from_the_distilled_student_prunes_in_its_scope_and_writes_only_to_its_store(
        store, default_store, stripes_data):
    """prune_scope reaches the masks (biases and norm parameters counted), and the distillation behind θ*_S,
    the dense run and the line all land in the line's store, none in the default one (RTD_RESULTS)."""
    train = sup_cfg(data=stripes_data, start="student", epochs=1, batch_size=64, save_epochs=())
    cfg = L.LotteryCfg(train=train, rounds=1, prune_scope="all")
    out = store.get_or_run("lottery", cfg, L.lottery).metrics
    net = tiny_net(train, store, num_classes=4)
    assert out["prunable"] == L.Masks(net, "all").total() == out["parameters"]
    assert out["rounds"][1]["remaining"] == pytest.approx(0.8, abs=1 / out["prunable"])
    assert store.get("distill", train.distill) is not None and list(default_store.iterdir()) == []
