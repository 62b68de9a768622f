import math

import pytest
import torch

from rtdlib import models
from rtdlib.init import locality_init, param_distance
from conftest import TINY_MODEL


def nets():
    return models.build(TINY_MODEL, 1, seed=0), models.build(TINY_MODEL, 1, seed=1)


def test_alpha_zero_is_an_exact_copy():
    t, f = nets()
    s, info = locality_init(t, f, 0.0)
    assert all(torch.equal(p, q) for p, q in zip(s.parameters(), t.parameters()))
    assert info["dist_actual"] == 0 and info["frac_identical"] == 1


def test_alpha_one_is_the_fresh_init_and_buffers_come_from_teacher():
    t, f = nets()
    with torch.no_grad():
        for b in t.buffers():
            b.add_(1) if b.dtype.is_floating_point else None
    s, info = locality_init(t, f, 1.0)
    assert all(torch.allclose(p, q) for p, q in zip(s.parameters(), f.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(s.buffers(), t.buffers()))
    assert math.isclose(info["dist_actual"], param_distance(t, f), rel_tol=1e-5)


def test_mixing_formula_and_float32_rounding_at_tiny_alpha():
    t, f = nets()
    a = 0.3
    s, _ = locality_init(t, f, a)
    p_t, p_f, p_s = next(t.parameters()), next(f.parameters()), next(s.parameters())
    expected = ((1 - a) * p_t.double() + a * p_f.double()) / math.sqrt(a * a + (1 - a) ** 2)
    assert torch.allclose(p_s.double(), expected, atol=1e-7)
    _, tiny = locality_init(t, f, 1e-10)
    assert tiny["frac_identical"] > 0.99  # float32 rounds the tiny step away for most weights
    assert tiny["dist_actual"] < tiny["dist_intended"] * 0.5


def test_bad_alpha_and_mismatched_nets():
    t, f = nets()
    with pytest.raises(ValueError, match=r"alpha = 2 is outside \[0, 1\]"):
        locality_init(t, f, 2)
    other = models.build(TINY_MODEL.__class__("small_vgg", width=8, out_dim=64, hidden_dim=32, bottleneck_dim=16), 1, 0)
    with pytest.raises(ValueError, match="shape"):
        locality_init(t, other, 0.5)


def test_recorded_distances_and_identical_fraction_by_hand():
    t, f = nets()
    a = 0.3
    s, info = locality_init(t, f, a)
    scale = 1 / math.sqrt(a * a + (1 - a) ** 2)
    pairs = list(zip(s.parameters(), t.parameters(), f.parameters()))
    intended = math.sqrt(sum((((1 - a) * pt.double() + a * pf.double()) * scale - pt.double()).pow(2).sum().item()
                             for _, pt, pf in pairs))
    actual = math.sqrt(sum((ps.double() - pt.double()).pow(2).sum().item() for ps, pt, _ in pairs))
    identical = sum((ps == pt).sum().item() for ps, pt, _ in pairs) / sum(pt.numel() for _, pt, _ in pairs)
    assert set(info) == {"alpha", "dist_intended", "dist_actual", "frac_identical"} and info["alpha"] == a
    assert info["dist_intended"] == pytest.approx(intended, rel=1e-12)
    assert info["dist_actual"] == pytest.approx(actual, rel=1e-12)
    assert param_distance(s, t) == pytest.approx(actual, rel=1e-6)  # differences taken in float32 there
    assert info["frac_identical"] == identical and 0 < intended
