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


def test_authors_code_skips_last_layer_normalization():
    paper, authors = Head(12, 50, 32, 8), Head(12, 50, 32, 8, authors_code=True)
    authors.load_state_dict(paper.state_dict())
    z = torch.randn(4, 12)
    assert not torch.allclose(paper(z), authors(z))
    assert not torch.allclose(last_layer_row_norms(authors), torch.ones(50))
    w = authors.lin2.weight
    manual = torch.nn.functional.normalize(authors.lin1(authors.mlp(z)), dim=1) @ w.T
    assert torch.allclose(authors(z), manual, atol=1e-6)


def test_head_parts_switch_layers_off():
    z = torch.randn(4, 12)
    no_lin2 = Head(12, 50, 32, 8, parts=("lin1", "fn1"))
    assert no_lin2(z).shape == (4, 8) and torch.allclose(no_lin2(z).norm(dim=1), torch.ones(4))
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
