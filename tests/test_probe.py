import copy
import math

import pytest
import torch
from torch import nn

from rtdlib import models
from rtdlib.config import ConfigError, ModelCfg, ProbeCfg, hashed_dict
from rtdlib.probe import (adamw_linear_probe, features, knn_probe, linear_probe, low_label_indices, probe_all,
                          raw_features, recalibrate_bn)


def blobs(n, d=20, classes=4, sep=6.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, d, generator=g) * sep
    y = torch.randint(0, classes, (n,), generator=g)
    return centers[y] + torch.randn(n, d, generator=g), y


def test_linear_probe_separable_and_random_labels():
    x, y = blobs(600)
    assert linear_probe(x[:400], y[:400], x[400:], y[400:], 4) > 0.98
    y_rand = torch.randint(0, 4, (600,), generator=torch.Generator().manual_seed(1))
    assert abs(linear_probe(x[:400], y_rand[:400], x[400:], y_rand[400:], 4) - 0.25) < 0.1


def test_linear_probe_is_deterministic():
    x, y = blobs(300, sep=1.0)
    a = linear_probe(x[:200], y[:200], x[200:], y[200:], 4)
    assert a == linear_probe(x[:200], y[:200], x[200:], y[200:], 4)


def test_authors_probe_separable_random_labels_and_deterministic():
    x, y = blobs(1200)  # 800 train images: at batch 256 and lr 1e-3 only 40 small steps, so more and larger here
    assert adamw_linear_probe(x[:800], y[:800], x[800:], y[800:], 4, batch_size=100, lr=0.05) > 0.95
    y_rand = torch.randint(0, 4, (1200,), generator=torch.Generator().manual_seed(1))
    acc = adamw_linear_probe(x[:800], y_rand[:800], x[800:], y_rand[800:], 4, batch_size=100, lr=0.05)
    assert abs(acc - 0.25) < 0.1
    x, y = blobs(700, sep=1.0)
    assert adamw_linear_probe(x[:500], y[:500], x[500:], y[500:], 4) == adamw_linear_probe(x[:500], y[:500], x[500:],
                                                                                           y[500:], 4)


def test_authors_probe_is_the_public_procedure():
    """dinopl/probing.py, LinearAnalysis: nn.Linear at PyTorch's default init, AdamW() with no arguments, the
    train features in fixed shuffled mini-batches of 256, 10 passes; no standardization. 5000 test points
    of overlapping classes: any change of the fitted weights moves some of them across a boundary."""
    x, y = blobs(5500, sep=0.5)
    g = torch.Generator().manual_seed(0)
    clf = nn.Linear(20, 4)
    with torch.no_grad():
        clf.weight.copy_(torch.rand(4, 20, generator=g) * 2 / math.sqrt(20) - 1 / math.sqrt(20))
        clf.bias.copy_(torch.rand(4, generator=g) * 2 / math.sqrt(20) - 1 / math.sqrt(20))
    batches = torch.randperm(500, generator=g).split(256)
    opt = torch.optim.AdamW(clf.parameters())  # PyTorch's defaults: lr 1e-3, weight decay 0.01
    for _ in range(10):
        for idx in batches:
            opt.zero_grad()
            nn.functional.cross_entropy(clf(x[idx]), y[idx]).backward()
            opt.step()
    expected = (clf(x[500:]).argmax(1) == y[500:]).float().mean().item()
    assert adamw_linear_probe(x[:500], y[:500], x[500:], y[500:], 4) == expected
    g = torch.Generator().manual_seed(3)  # zero passes: the accuracy of the initial classifier
    w0 = (torch.rand(4, 20, generator=g) * 2 - 1) * (1 / math.sqrt(20))
    b0 = (torch.rand(4, generator=g) * 2 - 1) * (1 / math.sqrt(20))
    at_init = ((x[500:] @ w0.T + b0).argmax(1) == y[500:]).float().mean().item()
    assert adamw_linear_probe(x[:500], y[:500], x[500:], y[500:], 4, epochs=0, seed=3) == at_init
    scaled = x * torch.logspace(-2, 2, 20)  # per-feature scales: the standardized L-BFGS probe does not see them
    assert abs(linear_probe(scaled[:500], y[:500], scaled[500:], y[500:], 4)
               - linear_probe(x[:500], y[:500], x[500:], y[500:], 4)) < 1.5 / 5000  # rounding may flip a point
    assert adamw_linear_probe(scaled[:500], y[:500], scaled[500:], y[500:], 4) != expected


def test_probe_option_replaces_only_the_full_label_linear_probe():
    x, y = blobs(700, sep=1.0)
    cfg = ProbeCfg(low_label=5, linear_optimizer="adamw", linear_l2=1.0)
    out = probe_all(x[:500], y[:500], x[500:], y[500:], 4, cfg)
    assert out["linear"] == adamw_linear_probe(x[:500], y[:500], x[500:], y[500:], 4)
    idx = low_label_indices(y[:500], 5)
    assert out["linear_low"] == linear_probe(x[idx], y[idx], x[500:], y[500:], 4, cfg.linear_steps, cfg.linear_l2)
    assert out["linear_low"] != linear_probe(x[idx], y[idx], x[500:], y[500:], 4, cfg.linear_steps)  # l2 matters
    assert "linear_optimizer" not in hashed_dict(ProbeCfg()) and hashed_dict(cfg)["linear_optimizer"] == "adamw"
    with pytest.raises(ConfigError, match="unknown linear probe optimizer 'sgd'"):
        ProbeCfg(linear_optimizer="sgd")


def test_knn_majority_vote_by_hand():
    train = torch.tensor([[0.0], [0.1], [0.2], [5.0], [5.1]])
    labels = torch.tensor([0, 0, 1, 1, 1])
    test = torch.tensor([[0.05], [5.05]])
    assert knn_probe(train, labels, test, torch.tensor([0, 1]), 2, k=3) == 1.0
    # k = 5 votes 3 x label 1 vs 2 x label 0 for both queries
    assert knn_probe(train, labels, test, torch.tensor([1, 1]), 2, k=5) == 1.0
    x, y = blobs(500)
    assert knn_probe(x[:400], y[:400], x[400:], y[400:], 4, k=20, metric="cosine") > 0.9


def test_low_label_selection_is_balanced_and_seeded():
    y = torch.arange(100) % 5
    idx = low_label_indices(y, 3, seed=0)
    assert torch.bincount(y[idx]).tolist() == [3] * 5
    assert torch.equal(idx, low_label_indices(y, 3))  # seed 0 by default: what probe_all selects
    assert not torch.equal(idx, low_label_indices(y, 3, seed=1))


def _bn_net():
    return models.build(ModelCfg("small_resnet", "batch", width=4, out_dim=8, hidden_dim=8, bottleneck_dim=4), 1, 0)


def test_recalibration_changes_only_bn_buffers():
    net = _bn_net()
    x = torch.randn(64, 1, 8, 8) * 3 + 1
    new = recalibrate_bn(net, x, lambda v: v, batch_size=16)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), new.parameters()))
    bn_new = [m for m in new.modules() if isinstance(m, nn.BatchNorm2d)]
    assert not torch.equal(bn_new[0].running_mean, torch.zeros_like(bn_new[0].running_mean))
    assert all(m.momentum == 0.1 for m in bn_new)
    # the original is untouched
    assert all(torch.equal(m.running_var, torch.ones_like(m.running_var))
               for m in net.modules() if isinstance(m, nn.BatchNorm2d))


def test_recalibration_leaves_a_net_without_bn_unchanged():
    net = models.build(ModelCfg("small_vgg", "none", width=4, out_dim=8, hidden_dim=8, bottleneck_dim=4), 1, 0)
    x = torch.randn(32, 1, 8, 8)
    new = recalibrate_bn(net, x, lambda v: v)
    assert torch.equal(features(net, x, lambda v: v), features(new, x, lambda v: v))


def test_recalibration_restores_a_correctly_calibrated_copy():
    net = _bn_net()
    x = torch.randn(128, 1, 8, 8) * 2 + 0.5
    good = copy.deepcopy(net)
    good.train()
    with torch.no_grad():  # exact statistics: one full-batch pass with cumulative averaging
        for m in good.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        good.features(x)
    broken = copy.deepcopy(good)
    for m in broken.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.add_(5.0)
            m.running_var.mul_(10.0)
    ident = lambda v: v  # noqa: E731
    ref = features(good, x, ident)
    assert not torch.allclose(features(broken, x, ident), ref, atol=1e-3)
    fixed = recalibrate_bn(broken, x, ident, batch_size=128)
    assert torch.allclose(features(fixed, x, ident), ref, atol=1e-4)


def test_linear_probe_is_invariant_to_an_affine_map_of_the_features():
    """Train and test features are standardized with the train statistics: shifting and rescaling every
    feature (far from zero mean and unit scale) leaves the probe's accuracy unchanged."""
    x, y = blobs(600, sep=1.5)
    scale, shift = torch.linspace(0.1, 20.0, x.shape[1]), torch.linspace(-50.0, 300.0, x.shape[1])
    plain = linear_probe(x[:400], y[:400], x[400:], y[400:], 4)
    moved = linear_probe(x[:400] * scale + shift, y[:400], x[400:] * scale + shift, y[400:], 4)
    assert plain > 0.8 and abs(moved - plain) <= 2 / 200  # rounding may flip a point or two


def test_recalibration_of_a_net_with_default_momentum_averages_all_batches():
    """Running statistics after recalibration = the average over the pass's batches of each batch's mean
    and unbiased variance (cumulative averaging), computed here with forward hooks, whatever the momentum
    the net was built with (PyTorch's default 0.1 would weight the last batch most)."""
    from test_connectivity import bn_stats_by_hand
    net = _bn_net()
    assert all(m.momentum == 0.1 for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 1, 8, 8, generator=g) * 2 + torch.linspace(-1, 3, 96).view(96, 1, 1, 1)  # batches differ
    ident = lambda v: v  # noqa: E731
    per_batch = [bn_stats_by_hand(net, x[i:i + 32], ident) for i in range(0, 96, 32)]
    fixed = recalibrate_bn(net, x, ident, batch_size=32).state_dict()
    for k in per_batch[0]:
        assert torch.allclose(fixed[k], sum(s[k] for s in per_batch) / 3, rtol=1e-4, atol=1e-5), k


def test_features_are_the_encoder_output_in_eval_mode_in_batches():
    """Probes read the encoder (not the head), on normalized inputs, with BN running statistics, in batches
    whose concatenation is the whole set; the net comes back in the mode it was in."""
    net = _bn_net().train()
    x = torch.randn(7, 1, 8, 8)
    normalize = lambda v: v * 2 - 1  # noqa: E731
    with torch.no_grad():
        expected = copy.deepcopy(net).eval().encoder(normalize(x))
    got = features(net, x, normalize, batch_size=3)
    assert got.shape == (7, net.encoder.feature_dim) and got.dtype == torch.float32
    assert torch.allclose(got, expected, atol=1e-6) and net.training
    assert torch.allclose(features(net, x, normalize, batch_size=3, channels_last=True), expected, atol=1e-5)
    assert all(torch.equal(m.running_var, torch.ones_like(m.running_var))  # eval mode: buffers untouched
               for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    assert not features(net.eval(), x, normalize).requires_grad and not net.training


def test_low_label_knn_votes_over_at_most_low_label_neighbours():
    """One labelled point per class: k-NN must take k = min(knn_k, low_label) = 1, the nearest point. With
    knn_k = 20 (clamped to the 3 points) every class gets one vote and ties go to label 0: 1/3 instead of 1."""
    f_train = torch.tensor([[0.0], [0.1], [10.0], [10.1], [20.0], [20.1]])
    y_train = torch.tensor([0, 0, 1, 1, 2, 2])
    f_test, y_test = torch.tensor([[0.2], [9.9], [19.9]]), torch.tensor([0, 1, 2])
    out = probe_all(f_train, y_train, f_test, y_test, 3, ProbeCfg(knn_k=20, low_label=1, linear_steps=20))
    assert out["knn_low"] == 1.0 and out["knn"] == pytest.approx(1 / 3)  # full labels: 6 points, k = 6
    assert set(out) == {"linear", "knn", "linear_low", "knn_low"}
    assert set(probe_all(f_train, y_train, f_test, y_test, 3, ProbeCfg(low_label=None))) == {"linear", "knn"}


def test_raw_features_are_the_flattened_normalized_input_in_batches():
    x = torch.arange(7 * 4, dtype=torch.float32).view(7, 2, 2, 1)
    assert torch.equal(raw_features(x, lambda v: v + 1, batch_size=3), (x + 1).flatten(1))


def test_linear_probe_reaches_the_regularized_optimum_found_independently():
    """The L-BFGS probe = the minimizer of mean cross-entropy + l2 |W|^2 on features standardized with the train
    mean and (unbiased) std, found here by scipy in float64 to full precision; its accuracy on 3000 test points
    of overlapping classes, features far from zero mean and unit scale. Also through probe_all's settings."""
    import numpy as np
    from scipy.optimize import minimize
    x, y = blobs(5200, d=5, classes=3, sep=0.7)
    keep = (y == 0) | (torch.arange(5200) % 2 == 0)  # classes of 1/2, 1/4, 1/4: the bias matters
    x, y = x[keep][:3300] * torch.tensor([0.3, 1.0, 3.0, 0.5, 2.0]) + 4, y[keep][:3300]
    assert len(y) == 3300
    l2 = 0.05
    a = x[:300].double().numpy()
    mean, std = a.mean(0), a.std(0, ddof=1)
    a, b, labels = (a - mean) / std, (x[300:].double().numpy() - mean) / std, y[:300].numpy()

    def objective(p):
        w, bias = p[:15].reshape(5, 3), p[15:]
        z = a @ w + bias
        z = z - z.max(1, keepdims=True)
        lse = np.log(np.exp(z).sum(1))
        grad_z = np.exp(z - lse[:, None])
        grad_z[np.arange(300), labels] -= 1
        grad_z /= 300
        loss = (lse - z[np.arange(300), labels]).mean() + l2 * (w ** 2).sum()
        return loss, np.concatenate([(a.T @ grad_z + 2 * l2 * w).ravel(), grad_z.sum(0)])
    p = minimize(objective, np.zeros(18), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15}).x
    expected = ((b @ p[:15].reshape(5, 3) + p[15:]).argmax(1) == y[300:].numpy()).mean()
    assert linear_probe(x[:300], y[:300], x[300:], y[300:], 3, l2=l2) == pytest.approx(expected, abs=1e-7)
    out = probe_all(x[:300], y[:300], x[300:], y[300:], 3, ProbeCfg(linear_l2=l2, linear_steps=100, low_label=None))
    assert out["linear"] == pytest.approx(expected, abs=1e-7)
    assert linear_probe(x[:300], y[:300], x[300:], y[300:], 3) == linear_probe(x[:300], y[:300], x[300:], y[300:], 3,
                                                                                steps=100, l2=1e-4)  # the defaults
    assert knn_probe(x[:300], y[:300], x[300:], y[300:], 3) == knn_probe(x[:300], y[:300], x[300:], y[300:], 3, k=20)


def test_knn_cosine_and_batches_by_hand():
    """Cosine neighbours are the most similar directions, not the nearest points; queries are answered in
    batches whose correct votes add up."""
    train, labels = torch.tensor([[1.0, 0.0], [10.0, 1.0]]), torch.tensor([0, 1])
    query = torch.tensor([[9.0, 0.0]])  # along (1, 0), nearest to (10, 1)
    assert knn_probe(train, labels, query, torch.tensor([0]), 2, k=1, metric="cosine") == 1.0
    assert knn_probe(train, labels, query, torch.tensor([0]), 2, k=1) == 0.0
    queries = torch.tensor([[0.9, 0.0], [9.0, 1.0], [1.1, 0.1], [12.0, 1.0], [11.0, 1.0]])
    assert knn_probe(train, labels, queries, torch.tensor([0, 1, 0, 0, 1]), 2, k=1, batch=2) == 0.8
    cfg = ProbeCfg(knn_k=1, knn_metric="cosine", low_label=1, linear_steps=5)
    out = probe_all(train, labels, query, torch.tensor([0]), 2, cfg)
    assert out["knn"] == out["knn_low"] == 1.0  # the metric reaches both k-NN probes
