import math

import pytest
import torch

from rtdlib import models
from rtdlib.config import HEAD_PARTS, ModelCfg
from rtdlib.models.head import Head, last_layer_row_norms


@pytest.mark.parametrize("arch", ["small_vgg", "small_resnet", "resnet20", "vgg11"])
@pytest.mark.parametrize("norm", ["batch", "group", "none"])
def test_encoders_report_their_feature_dim(arch, norm):
    net = models.build(ModelCfg(arch, norm, width=8, out_dim=32, hidden_dim=16, bottleneck_dim=8), 1, seed=0)
    x = torch.randn(3, 1, 16, 16)
    assert net.features(x).shape == (3, net.encoder.feature_dim)
    assert net(x).shape == (3, 32)


def test_seeded_build_is_reproducible_and_seed_sensitive():
    cfg = ModelCfg("small_resnet", width=4, out_dim=16, hidden_dim=8, bottleneck_dim=4)
    a, b, c = (models.build(cfg, 1, seed=s) for s in (0, 0, 1))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_paper_head_has_unit_norm_rows_and_cosine_logits():
    head = Head(12, 100, hidden_dim=32, bottleneck_dim=8)
    with torch.no_grad():
        head.lin2.weight.mul_(torch.rand(100, 1) * 5)  # rows of arbitrary length
    assert torch.allclose(last_layer_row_norms(head), torch.ones(100), atol=1e-6)
    out = head(torch.randn(5, 12))
    assert out.abs().max() <= 1 + 1e-5  # unit bottleneck . unit rows = cosine


def test_head_parts_switch_layers_off():
    z = torch.randn(4, 12)
    no_lin2 = Head(12, 50, 32, 8, parts=("lin1", "fn1"))  # lin1 maps to the m outputs, as in the public code
    assert no_lin2.lin1.weight.shape == (50, 32) and no_lin2.out_dim == 50
    assert no_lin2(z).shape == (4, 50) and torch.allclose(no_lin2(z).norm(dim=1), torch.ones(4))
    only_lin2 = Head(12, 50, 32, 8, parts=("lin2", "fn2"))
    assert only_lin2(z).shape == (4, 50) and torch.allclose(only_lin2(z).norm(dim=1), torch.ones(4))
    wn1 = Head(12, 50, 32, 8, parts=HEAD_PARTS)
    assert wn1.lin1.normalize and wn1.lin2.normalize


def test_mlp_init_is_trunc_normal_with_zero_bias():
    head = Head(64, 10, hidden_dim=2048, bottleneck_dim=256)
    w = head.mlp[2].weight
    # DINO's trunc_normal_(std=0.02) keeps torch's absolute bounds [-2, 2]: in effect a plain normal
    assert abs(w.std().item() - 0.02) < 0.001 and abs(w.mean().item()) < 0.001
    assert head.mlp[0].bias.abs().max() == 0 and head.lin1.bias.abs().max() == 0


def test_paper_head_forward_divides_each_last_layer_row_by_its_norm():
    head = Head(12, 6, hidden_dim=32, bottleneck_dim=4)
    w = torch.tensor([[3.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0],
                      [0.0, 5.0, 0.0, 0.0], [1.0, 0.0, 2.0, 2.0], [0.5, 0.0, 0.0, 0.0]])
    with torch.no_grad():
        head.lin2.weight.copy_(w)
    rows = w / torch.tensor([5.0, 2.0, 2.0, 5.0, 3.0, 0.5]).unsqueeze(1)  # row norms by hand
    z = torch.randn(5, 12)
    u = head.lin1(head.mlp(z))
    u = u / u.norm(dim=1, keepdim=True)  # the l2 bottleneck
    assert torch.allclose(head(z), u @ rows.T, atol=1e-6)


def test_head_layers_start_trunc_normal_with_zero_bias_and_lin2_by_mode():
    """App. E.1: std 0.02 and zero bias for the MLP and lin1. lin2 keeps PyTorch's default in paper mode (std
    1/sqrt(3 * 256) = 0.036, as DINO; wn2 makes its rows unit vectors anyway) and starts at std 0.02 in the
    authors' code. Tolerance: 5 standard errors of a sample std."""
    for authors_code in (False, True):
        head = Head(64, 4096, hidden_dim=512, bottleneck_dim=256, authors_code=authors_code)
        for layer in (head.mlp[0], head.mlp[2], head.lin1, head.lin2):
            w = layer.weight
            std = 0.02 if authors_code or layer is not head.lin2 else (3 * 256) ** -0.5
            # torch's trunc_normal_ keeps the absolute bounds [-2, 2]: at std 0.02 in effect a plain normal
            assert abs(w.std().item() / std - 1) < 5 / math.sqrt(2 * w.numel()), layer
            assert layer.bias is None or layer.bias.abs().max() == 0


# ---------------------------------------------------------------- the head against its equations

def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def rows_unit(w):
    return w / w.norm(dim=1, keepdim=True)


def unit(z):
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def reference_head(x, p, parts, authors_code):
    """Our reference of the head (App. E.1 with the public code's deviations):
        h = GELU(B GELU(A x + a) + b)                                   (MLP)
        z = W1 h + b1, W1 rows unit-normed if wn1                         (lin1, wn1)
        z = z / max(|z|, 1e-12) if fn1                                   (fn1)
        y = V z, V rows unit-normed if wn2                                (lin2, wn2)
        y = y / max(|y|, 1e-12) if fn2                                   (fn2)
    A missing layer is the identity. The public code's linear layer multiplies by its raw weight, so with
    `authors_code` neither wn1 nor wn2 applies."""
    wn1, wn2 = ("wn1" in parts and not authors_code), ("wn2" in parts and not authors_code)
    z = gelu(gelu(x @ p["mlp.0.weight"].T + p["mlp.0.bias"]) @ p["mlp.2.weight"].T + p["mlp.2.bias"])
    if "lin1" in parts:
        z = z @ (rows_unit(p["lin1.weight"]) if wn1 else p["lin1.weight"]).T + p["lin1.bias"]
    if "fn1" in parts:
        z = unit(z)
    if "lin2" in parts:
        z = z @ (rows_unit(p["lin2.weight"]) if wn2 else p["lin2.weight"]).T
    if "fn2" in parts:
        z = unit(z)
    return z


def hand_made(head):
    """Weights with rows of different lengths (so weight normalization changes the function) and no randomness."""
    out = {}
    for i, (name, t) in enumerate(head.state_dict().items()):
        k = torch.arange(t.numel(), dtype=torch.float64).reshape(t.shape)
        out[name] = (torch.sin(1.7 * k + i) * (1 + (k % 5))).float() / math.sqrt(t.shape[-1])
    return out


@pytest.mark.parametrize("parts", [("lin1", "fn1", "wn2", "lin2"), HEAD_PARTS, ("wn1", "lin1", "fn1"),
                                   ("lin1", "fn1"), ("lin1", "lin2"), ("wn2", "lin2"), ("lin2", "fn2")])
@pytest.mark.parametrize("authors_code", [False, True])
def test_head_matches_its_reference_on_hand_made_weights(parts, authors_code):
    head = Head(3, 5, hidden_dim=4, bottleneck_dim=3, parts=parts, authors_code=authors_code)
    weights = hand_made(head)
    head.load_state_dict(weights)
    x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    y = reference_head(x, weights, parts, authors_code)
    assert y.shape == (2, 5)
    assert torch.allclose(head(x), y, atol=1e-6)
    if authors_code and ({"wn1", "wn2"} & set(parts)):  # the weight norms that the public code drops do matter
        assert not torch.allclose(y, reference_head(x, weights, parts, authors_code=False), atol=1e-4)


def test_authors_code_head_has_raw_last_layer_rows():
    paper, authors = Head(12, 50, 32, 8), Head(12, 50, 32, 8, authors_code=True)
    authors.load_state_dict(paper.state_dict())
    assert not torch.allclose(last_layer_row_norms(authors), torch.ones(50))
    assert not torch.allclose(paper(torch.randn(4, 12)), authors(torch.randn(4, 12)))


# ---------------------------------------------------------------- encoder initialization and norm layers

def convs_and_norms(arch, norm, in_channels=3, width=16):
    cfg = ModelCfg(arch, norm, width, out_dim=8, hidden_dim=8, bottleneck_dim=4)
    enc = models.build(cfg, in_channels, seed=0).encoder
    named = list(enc.named_modules())
    return ([(n, m) for n, m in named if isinstance(m, torch.nn.Conv2d)],
            [m for _, m in named if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm, torch.nn.InstanceNorm2d))])


@pytest.mark.parametrize("arch,norm", [("resnet18", "batch"), ("vgg11", "none"), ("small_vgg", "none"),
                                       ("small_resnet", "group"), ("resnet20", "instance")])
def test_every_conv_is_kaiming_normal_fan_out_with_zero_bias(arch, norm):
    """Official init (torchvision, the public code): N(0, 2 / fan_out), fan_out = out_channels * k * k; zero conv
    bias; norm affines 1 and 0. PyTorch's default (kaiming_uniform, a=sqrt(5)) has std 1/sqrt(3 fan_in) instead.
    Tolerance 5 standard errors for n weights: std within 5/sqrt(2(n-1)) relative, mean within 5 sigma/sqrt(n),
    and, for n >= 4096, a normal's kurtosis 3 within 5 sqrt(24/n) (a uniform's is 1.8)."""
    convs, norms = convs_and_norms(arch, norm)
    if arch == "resnet18":
        assert "body.conv1" in dict(convs)  # the CIFAR stem, created after torchvision's init pass
    for name, conv in convs:
        w = conv.weight.detach().double().flatten()
        n, sigma = w.numel(), math.sqrt(2 / (conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]))
        assert abs(w.std().item() / sigma - 1) < 5 / math.sqrt(2 * (n - 1)), (name, w.std().item(), sigma)
        assert abs(w.mean().item()) < 5 * sigma / math.sqrt(n), name
        if n >= 4096:
            kurtosis = ((w - w.mean()) ** 4).mean().item() / w.var(unbiased=False).item() ** 2
            assert abs(kurtosis - 3) < 5 * math.sqrt(24 / n), (name, kurtosis)
        assert conv.bias is None or conv.bias.abs().max() == 0, name
    for m in norms:
        if m.weight is not None:
            assert torch.equal(m.weight, torch.ones_like(m.weight)) and torch.equal(m.bias, torch.zeros_like(m.bias))


def test_no_bn_vgg11_features_depend_on_the_input_at_init():
    """With PyTorch's default conv init the signal shrinks ~2.4x per layer and the biases take over: 32 digit
    images then give features whose mean pairwise distance is ~2-3% of their mean norm (measured, seeds 0-4);
    with the official init it is ~21-24%. Threshold: 10%."""
    from sklearn.datasets import load_digits
    x = torch.tensor(load_digits().images[:32], dtype=torch.float32)[:, None]
    x = torch.nn.functional.interpolate(x, size=32, mode="bilinear").repeat(1, 3, 1, 1)
    x = (x - x.mean()) / x.std()
    enc = models.build(ModelCfg("vgg11", "none", out_dim=8, hidden_dim=8, bottleneck_dim=4), 3, seed=0).encoder
    with torch.no_grad():
        f = enc.eval()(x)
    spread = torch.cdist(f, f).sum().item() / (len(f) * (len(f) - 1))
    assert spread > 0.10 * f.norm(dim=1).mean().item(), spread / f.norm(dim=1).mean().item()


def test_group_norm_has_eight_channels_per_group():
    """GroupNorm8 is GroupNorm(C // 8) in the public code (8 channels per group, not 8 groups)."""
    from rtdlib.models.norm import group_count, norm2d
    assert norm2d("group", 256).num_groups == 32 and norm2d("group", 64).num_groups == 8
    assert norm2d("group", 16).num_groups == 2 and norm2d("group", 8).num_groups == 1
    # widths the public code cannot build: below 8 one group; otherwise the most groups of >= 8 channels
    assert [group_count(c) for c in (1, 4, 7, 12, 13, 44)] == [1, 1, 1, 1, 1, 4]
    x = torch.randn(2, 4, 5, 5)
    assert norm2d("group", 4)(x).shape == x.shape
