"""ViT encoder, deeper small nets, and the ablation/architecture sweeps."""
import math

import pytest
import torch

from conftest import one_training_step
from rtdlib import distill as D
from rtdlib import fits, models, sweeps
from rtdlib.config import ConfigError, DataCfg, DistillCfg, ModelCfg, config_hash
from rtdlib.models.head import Head, applied_parts
from rtdlib.models.vit import TABLE5_PARAMS, VIT_SIZES, ViT, authors_param_count
from rtdlib.profiles import settings


def encoder_params(arch, norm, in_channels=3):
    with torch.device("meta"):  # shapes only: no memory, no initialization cost
        return sum(p.numel() for p in models.build(ModelCfg(arch, norm, out_dim=16), in_channels).encoder.parameters())


@pytest.mark.parametrize("arch", list(VIT_SIZES))
def test_paper_vits_take_one_training_step(arch):
    s, before, loss, x = one_training_step(ModelCfg(arch, "layer", out_dim=2 ** 16))
    assert math.isfinite(loss.item()) and abs(loss.item() - math.log(2 ** 16)) < 0.01
    assert all(not torch.equal(a, b) for a, b in zip(before, s.parameters()))  # every parameter gets a gradient
    assert s.encoder.feature_dim == VIT_SIZES[arch][0] == s.features(x).shape[1]


def test_patch_4_vits_see_16px_images_as_the_paper_sees_32px():
    """vit_tiny_p4 on 16x16 inputs: the paper's 4x4 grid of patches (patch 8 on 32x32) + CLS = 17 tokens."""
    small = models.build(ModelCfg("vit_tiny_p4", "layer", out_dim=16), 1, seed=0).encoder
    paper = models.build(ModelCfg("vit_tiny", "layer", out_dim=16), 1, seed=0).encoder
    assert small.embed.kernel_size == (4, 4) and paper.embed.kernel_size == (8, 8)
    assert small.embed(torch.zeros(1, 1, 16, 16)).shape[-2:] == paper.embed(torch.zeros(1, 1, 32, 32)).shape[-2:] == (4, 4)
    assert small.pos.shape == paper.pos.shape == (1, 17, 192)
    with pytest.raises(ConfigError, match="image size 6 is smaller than two ViT patches of 4 pixels"):
        fits.check(DistillCfg(data=DataCfg("digits", image_size=6), model=ModelCfg("vit_tiny_p4", "layer")))


def test_vit_parameter_counts_vs_table5():
    """Ours: 12 distinct blocks at patch 8. Table 5 equals the authors' code: 1 shared block, patch 16."""
    for arch, (dim, _) in VIT_SIZES.items():
        ours = encoder_params(arch, "layer")
        assert ours == authors_param_count(dim, patch=8, grid=4, unique_blocks=12)
        assert authors_param_count(dim) == TABLE5_PARAMS[arch]
        assert ours != TABLE5_PARAMS[arch]


def test_cnn_parameter_counts_match_table5():
    for arch in ("vgg11", "vgg13", "vgg16", "vgg19", "resnet20", "resnet56", "resnet18", "resnet34", "resnet50"):
        norm = "none" if arch.startswith("vgg") else "batch"
        assert encoder_params(arch, norm) == TABLE5_PARAMS[arch]


def test_vit_attends_across_tokens_and_handles_other_grids():
    vit = ViT(1, dim=16, depth=2, heads=2, patch=4, grid=2).eval()
    x = torch.randn(3, 1, 8, 8)
    y = vit(x)
    x2 = x.clone()
    x2[:, :, 4:, 4:] += 1.0  # changes one patch; the CLS feature must see it through attention
    assert not torch.allclose(vit(x2), y)
    assert vit(torch.randn(2, 1, 12, 12)).shape == (2, 16)  # 3x3 grid: interpolated positions
    with pytest.raises(ValueError, match="smaller than the ViT patch size"):
        vit(torch.randn(1, 1, 3, 3))


def test_vit_initializes_as_the_authors_vit():
    """Their ViT.reset_parameters('default'), the method their runs call: CLS token and positions N(0, 1);
    linear layers PyTorch's default, U(+-1/sqrt(fan_in)) for weights and biases; the patch projection is
    never re-initialized (PyTorch's Conv2d default, same bounds); LayerNorm 1 and 0. Tolerances: 5 standard
    errors of a sample std (relative 5/sqrt(2n) for a normal, 5 sqrt(0.8/n)/2 for a uniform)."""
    vit = models.build(ModelCfg("vit_tiny", "layer", out_dim=16), 3, seed=0).encoder
    for p in (vit.cls, vit.pos):
        assert abs(p.std().item() - 1) < 5 / math.sqrt(2 * p.numel())
    for name, m in vit.named_modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            bound = 1 / math.sqrt(m.weight[0].numel())
            w = m.weight.detach()
            assert w.abs().max() <= bound and m.bias.abs().max() <= bound, name
            assert abs(w.std().item() / (bound / math.sqrt(3)) - 1) < 2.5 * math.sqrt(0.8 / w.numel()), name
            assert m.bias.abs().max() > 0.5 * bound, name  # a uniform bias, not zero
        if isinstance(m, torch.nn.LayerNorm):
            assert torch.equal(m.weight, torch.ones_like(m.weight)) and torch.equal(m.bias, torch.zeros_like(m.bias))


def test_vit_rejects_batch_norm_in_config():
    with pytest.raises(ConfigError, match="unknown ViT norm layer 'batch'"):
        ModelCfg("vit_tiny", "batch")


def test_deeper_small_nets_keep_defaults_and_add_layers():
    convs = lambda arch: sum(isinstance(m, torch.nn.Conv2d) for m in models.build(ModelCfg(arch, "batch", 8, out_dim=16), 1).encoder.modules())
    assert convs("small_vgg") == 4 and convs("small_vgg8") == 8
    assert convs("small_resnet") == 6 and convs("small_resnet9") == 10  # incl. one projection shortcut
    x = torch.randn(2, 1, 16, 16)
    for arch in ("small_vgg8", "small_resnet9"):
        net = models.build(ModelCfg(arch, "batch", 8, out_dim=16), 1, seed=0)
        assert net.features(x).shape == (2, net.encoder.feature_dim)


def test_head_changes_leave_the_teacher_encoder_identical():
    """The ablation notebook shares one teacher baseline across head variants; that needs this."""
    P = settings("04_ablations", "quick")
    variants = [(s, c) for s, _, c in sweeps.ablation_variants(P) if c.seed == 0 and s in ("output_dim", "head")]
    ref = D.make_nets(variants[0][1], 1)[0].encoder.state_dict()
    for _, cfg in variants[1:]:
        enc = D.make_nets(cfg, 1)[0].encoder.state_dict()
        assert all(torch.equal(enc[k], v) for k, v in ref.items())


def test_authors_code_head_is_the_head_without_weight_norms_from_a_smaller_last_layer():
    """The authors' code multiplies by the raw weights of lin1 and lin2 (wn1 and wn2 dropped) and starts lin2
    trunc-normal with std 0.02; in paper mode lin2 keeps PyTorch's default (std 1/sqrt(3 fan_in)). Given the
    same weights the two heads are one function; the ablation sweep runs the authors' head on its own."""
    paper = ("lin1", "fn1", "wn2", "lin2")
    heads = []
    for parts, code in ((paper, True), (("lin1", "fn1", "lin2"), False), (("wn1",) + paper, True)):
        torch.manual_seed(0)
        heads.append(Head(12, 4000, 32, 64, parts=parts, authors_code=code))
    authors, no_wn, authors_wn1 = heads
    a, b = authors.state_dict(), no_wn.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if k != "lin2.weight")
    assert abs(a["lin2.weight"].std().item() - 0.02) < 0.001
    assert abs(b["lin2.weight"].std().item() - (3 * 64) ** -0.5) < 0.003
    no_wn.load_state_dict(a)
    z = torch.randn(6, 12)
    assert torch.equal(authors(z), no_wn(z)) and torch.equal(authors_wn1(z), authors(z))
    assert applied_parts(paper, authors_code=True) == ("lin1", "fn1", "lin2") and applied_parts(paper) == paper
    assert applied_parts(("wn1",) + paper, authors_code=True) == ("lin1", "fn1", "lin2")
    P = settings("04_ablations", "quick")
    by_label = {label: config_hash("distill", c) for study, label, c in sweeps.ablation_variants(P)
                if study == "head" and c.seed == 0}
    assert len(set(by_label.values())) == len(by_label)  # the authors' head is a run of its own


def test_authors_weight_decay_is_an_explicit_second_param_group():
    """The public code's AdamW: group 0 = weights (its opt_wd, 0 in the paper's runs), group 1 = biases and
    every 1-d parameter at PyTorch's default 0.01. At zero gradient one AdamW step only decays."""
    from dataclasses import replace

    from conftest import tiny_cfg
    from rtdlib.config import hashed_dict
    cfg = tiny_cfg()
    assert "bias_weight_decay" not in hashed_dict(cfg)  # default: existing store entries keep their names
    assert len(D.optimizer(models.build(cfg.model, 1, seed=0), cfg).param_groups) == 1
    authors = replace(cfg, bias_weight_decay=0.01)
    assert hashed_dict(authors)["bias_weight_decay"] == 0.01
    net = models.build(cfg.model, 1, seed=0)
    opt = D.optimizer(net, authors)
    named = dict(net.named_parameters())
    one_d = {n for n, p in named.items() if n.endswith("bias") or p.dim() == 1}
    bn_weights = {f"{n}.weight" for n, m in net.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert bn_weights and bn_weights <= one_d  # norm affines are in the decayed group, not only biases
    assert [g["weight_decay"] for g in opt.param_groups] == [0.0, 0.01]
    assert {id(p) for p in opt.param_groups[1]["params"]} == {id(named[n]) for n in one_d}
    before = {n: p.detach().clone() for n, p in named.items()}
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in named.items():
        expected = before[n] * (1 - authors.lr * 0.01) if n in one_d else before[n]
        assert torch.allclose(p, expected, rtol=0, atol=1e-9), n
    with pytest.raises(ConfigError, match="bias_weight_decay"):
        replace(cfg, bias_weight_decay=-0.1)


def test_ablation_sweep_structure():
    P = settings("04_ablations", "quick")
    variants = sweeps.ablation_variants(P)
    cfgs = sweeps.ablations(P)
    assert len({config_hash("distill", c) for c in cfgs}) == len(cfgs) < len(variants)
    reference = [c for s, v, c in variants if s == "output_dim" and v == str(P["head"]["out_dim"])]
    assert all("teacher_bnrecal" in c.probe_nets for c in reference)
    for study, label, c in variants:
        if study == "norm":
            assert c.model.norm == label and "teacher" in c.probe_nets
        if study == "head" and "authors" in label:  # the public code's head: its own mode, not a parts variant
            assert c.model.authors_code and c.model.head_parts == ("lin1", "fn1", "wn2", "lin2")
    paper = settings("04_ablations", "paper")
    assert paper["out_dims"] == [2 ** k for k in range(0, 17, 2)]  # the nine m of Fig. 10
    assert {c.model.arch for c in sweeps.architectures(settings("09_architectures", "paper"))} >= set(VIT_SIZES)
