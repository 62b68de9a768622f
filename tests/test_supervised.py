"""Supervised training on a task tiny nets learn (conftest.stripes), and top-1 accuracy in eval mode."""
import copy

import pytest
import torch
from torch import nn

from rtdlib import supervised as S
from rtdlib.config import ConfigError, replace
from test_lottery import sup_cfg, tiny_net


def bn_layers(net):
    return [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]


def test_accuracy_is_top1_with_running_statistics_and_leaves_the_net_as_it_was():
    net = tiny_net()
    for m in bn_layers(net):  # running statistics far from any batch's: train mode would predict otherwise
        m.running_mean.fill_(3.0)
        m.running_var.fill_(0.05)
    x = torch.randn(10, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    normalize = lambda v: v * 0.5  # noqa: E731
    with torch.no_grad():
        eval_pred = copy.deepcopy(net).eval()(normalize(x)).argmax(1)
        train_pred = copy.deepcopy(net).train()(normalize(x)).argmax(1)
    assert not torch.equal(eval_pred, train_pred)  # so the check below can tell the two modes apart
    y = eval_pred.clone()
    y[7:] = (y[7:] + 1) % 10  # 7 of 10 right by construction
    buffers = {k: v.clone() for k, v in net.state_dict().items()}
    for mode in (True, False):
        net.train(mode)
        assert S.accuracy(net, x, y, normalize, batch_size=4) == 0.7
        assert net.training == mode
        assert all(torch.equal(v, buffers[k]) for k, v in net.state_dict().items())


def test_supervised_training_learns_a_separable_task(store, stripes_data):
    """From the fresh student init, two epochs classify every test and train image of the stripes; the reported
    accuracies are those of the saved final network, evaluated here by hand."""
    cfg = sup_cfg(data=stripes_data, epochs=2, batch_size=32, save_epochs=(1,))
    res = store.get_or_run("supervised", cfg, S.supervised)
    ds, net, _ = S.prepare(cfg, torch.device("cpu"))
    net.load_state_dict(res.load("final"))
    with torch.no_grad():
        pred = net.eval()(ds.normalize(ds.x_test)).argmax(1)
    assert (pred == ds.y_test).float().mean().item() == res.metrics["test_acc"] == 1.0  # chance: 0.25
    assert res.metrics["train_acc"] == 1.0 and res.metrics["steps_per_epoch"] == 256 // 32
    h = res.metrics["history"]
    assert [r["epoch"] for r in h] == [1, 2] and h[1]["train_loss"] < h[0]["train_loss"] / 2
    rewind = res.load("rewind_1")  # the epoch-1 checkpoint: weights between the start and the final ones
    assert set(rewind) == {"net", "opt"} and set(rewind["net"]) == set(res.load("final"))
    assert not torch.equal(rewind["net"]["fc.weight"], res.load("final")["fc.weight"])


def test_classifier_features_are_its_encoder_output():
    net = tiny_net().eval()
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(net.features(x), net.encoder(x))


def test_the_distilled_start_point_is_the_distill_entry_of_the_runs_store(store):
    """A run from theta*_S takes its student from (and stores it in) the store the run belongs to."""
    cfg = sup_cfg(start="student", epochs=1, save_epochs=())
    store.get_or_run("supervised", cfg, S.supervised)
    student = store.get("distill", cfg.distill)
    assert student is not None
    start = tiny_net(cfg, store)
    assert all(torch.equal(v, student.load("student")[f"encoder.{k}"]) for k, v in start.encoder.state_dict().items())


def test_a_checkpoint_with_missing_or_extra_names_is_one_line_naming_three_of_each():
    net = tiny_net()
    sd = net.state_dict()
    gone = sorted(sd)[:4]
    for checkpoint, names in [({k: v for k, v in sd.items() if k != "fc.bias"}, "missing ['fc.bias'], unexpected []"),
                              ({k: v for k, v in sd.items() if k not in gone}, f"missing {gone[:3]}, unexpected []"),
                              ({**sd, **{f"x{i}": torch.zeros(1) for i in range(4)}},
                               "missing [], unexpected ['x0', 'x1', 'x2']")]:
        with pytest.raises(ValueError) as e:
            S.load_checked(net, checkpoint, "checkpoint")
        assert str(e.value) == f"checkpoint does not fit this architecture: {names}"


def test_the_optimizer_is_sgd_with_the_configs_lr_momentum_and_weight_decay():
    group = S.make_optimizer(tiny_net(), sup_cfg(lr=0.03, momentum=0.7, weight_decay=2e-3)).param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.03, 0.7, 2e-3)


def applied(x, out, p):
    """For each output image, every (row shift, column shift, mirrored) that turns its own input into it."""
    found = []
    for xi, oi in zip(x, out):
        padded = torch.nn.functional.pad(xi, (p, p, p, p))
        h, w = xi.shape[-2:]
        found.append([(dy, dx, f) for dy in range(2 * p + 1) for dx in range(2 * p + 1) for f in (False, True)
                      if torch.equal(padded[:, dy:dy + h, dx:dx + w].flip(-1) if f else padded[:, dy:dy + h, dx:dx + w],
                                     oi)])
    return found


@pytest.mark.parametrize("pad, flip", [(1, True), (1, False), (0, True), (0, False)])
def test_each_augmented_image_is_one_crop_and_mirror_of_its_own_input(pad, flip):
    """Found by search over every crop and mirror (random pixels make the match unique): with padding the
    row and column shifts are drawn independently over all 2p + 1 offsets, with flip about half are mirrored,
    and a setting that is off is never applied."""
    x = torch.randint(0, 256, (64, 1, 5, 5), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    idx = torch.arange(63, -1, -1)
    out = S.augment(x, idx, sup_cfg(crop_pad=pad, flip=flip), epoch=1)
    found = applied(x[idx], out, pad)
    assert all(len(f) == 1 for f in found)
    (dys, dxs, fs) = zip(*(f[0] for f in found))
    offsets = set(range(2 * pad + 1))
    assert set(dys) == set(dxs) == offsets and (pad == 0 or any(a != b for a, b in zip(dys, dxs)))
    assert set(fs) == ({False, True} if flip else {False})


@pytest.mark.parametrize("drop_last, per_epoch", [(True, 3), (False, 4)])
def test_training_history_is_the_mean_batch_loss_per_epoch_with_its_lr(monkeypatch, stripes_data, drop_last, per_epoch):
    """train_loss = the mean of the epoch's batch losses (recorded as they are computed); drop_last drops
    the partial batch (250 images, batch 64: 3 batches, else 4)."""
    cfg = sup_cfg(data=replace(stripes_data, train_size=250), epochs=2, batch_size=64, drop_last=drop_last,
                  save_epochs=())
    ds, net, _ = S.prepare(cfg, torch.device("cpu"))
    losses, real = [], S.F.cross_entropy

    def recording(*a, **kw):
        loss = real(*a, **kw)
        losses.append(loss.item())
        return loss

    monkeypatch.setattr(S.F, "cross_entropy", recording)
    rows = S.train_epochs(net, S.make_optimizer(net, cfg), ds, cfg, [1, 2])
    assert len(losses) == 2 * per_epoch
    assert [r["epoch"] for r in rows] == [1, 2] and [r["lr"] for r in rows] == [S.lr_at(cfg, 1), S.lr_at(cfg, 2)]
    for r, epoch_losses in zip(rows, (losses[:per_epoch], losses[per_epoch:])):
        assert r["train_loss"] == pytest.approx(sum(epoch_losses) / per_epoch, rel=1e-6)


def test_a_non_finite_loss_stops_training_with_one_line_naming_epoch_and_lr(monkeypatch, stripes_data):
    cfg = sup_cfg(data=stripes_data, epochs=4, batch_size=64, save_epochs=(), lr=0.05)  # epoch 1: the full lr
    ds, net, _ = S.prepare(cfg, torch.device("cpu"))
    monkeypatch.setattr(S.F, "cross_entropy", lambda logits, y: logits.sum() * float("nan"))
    with pytest.raises(FloatingPointError) as e:
        S.train_epochs(net, S.make_optimizer(net, cfg), ds, cfg, [1])
    assert str(e.value) == "non-finite training loss at epoch 1 (lr=0.05); lower the learning rate"


@pytest.mark.parametrize("kw, message", [
    ({"epochs": 0}, "epochs = 0 is outside [1, 100000]"),
    ({"epochs": 100_001}, "epochs = 100001 is outside [1, 100000]"),
    ({"batch_size": 0}, "batch_size = 0 is outside [1, 1048576]"),
    ({"batch_size": (1 << 20) + 1}, "batch_size = 1048577 is outside [1, 1048576]"),
    ({"lr": 0.0}, "lr = 0.0 is outside (0.0, 10.0]"),
    ({"lr": 10.5}, "lr = 10.5 is outside (0.0, 10.0]"),
    ({"momentum": 1.0}, "momentum = 1.0 is outside [0.0, 1.0)"),
    ({"momentum": 1.5}, "momentum = 1.5 is outside [0.0, 1.0)"),
    ({"weight_decay": 1.5}, "weight_decay = 1.5 is outside [0.0, 1.0]"),
    ({"crop_pad": 65}, "crop_pad = 65 is outside [0, 64]"),
    ({"milestones": (0.0,)}, "lr milestone = 0.0 is outside (0.0, 1.0)"),
    ({"milestones": (0.5, 1.0)}, "lr milestone = 1.0 is outside (0.0, 1.0)"),
    ({"milestones": (1.5,)}, "lr milestone = 1.5 is outside (0.0, 1.0)"),
    ({"save_epochs": (3,)}, "rewind epoch 3 is beyond training; allowed: 1 .. 2 (epochs = 3)"),
])
def test_each_bad_setting_is_one_line_naming_it_and_its_range(kw, message):
    with pytest.raises(ConfigError) as e:
        sup_cfg(**{"save_epochs": (), **kw})
    assert str(e.value) == message


def test_settings_at_their_bounds_are_accepted_and_sequences_become_sorted_tuples():
    for kw in ({"epochs": 1}, {"epochs": 100_000}, {"batch_size": 1}, {"batch_size": 1 << 20}, {"lr": 10.0},
               {"momentum": 0.0}, {"weight_decay": 0.0}, {"weight_decay": 1.0}, {"crop_pad": 0}, {"crop_pad": 64}):
        cfg = sup_cfg(**{"save_epochs": (), **kw})
        assert all(getattr(cfg, k) == v for k, v in kw.items())
    cfg = sup_cfg(milestones=[0.5], save_epochs=[2, 1, 2])
    assert (cfg.milestones, cfg.save_epochs) == ((0.5,), (1, 2)) and type(cfg.milestones) is tuple
