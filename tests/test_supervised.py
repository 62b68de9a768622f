"""Supervised training on a task tiny nets learn (conftest.stripes), and top-1 accuracy in eval mode."""
import copy

import torch
from torch import nn

from rtdlib import supervised as S
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
