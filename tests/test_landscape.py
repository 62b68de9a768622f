"""Landscape engine on tiny nets: plane geometry, BN choice, loop == vmap, resume, finer grids."""
import copy
import dataclasses
import math
import os

import numpy as np

import pytest
import torch

from conftest import tiny_cfg
from rtdlib import landscape as L
from rtdlib.config import ConfigError, ProbeCfg, config_hash
from rtdlib.distill import distill_loss, make_nets
from rtdlib.probe import recalibrate_bn
from rtdlib.store import Store

DISTILL = tiny_cfg(probe_epochs=(2,), probe_nets=("student",), probe=ProbeCfg(linear_steps=10, low_label=None))
SMALL = dict(eval_size=64, probe_train=120, probe_test=60, linear_steps=10, chunk=2)


def cfg(**kw):
    # margin 0 in interpolation coordinates: a 2x2 grid sits exactly on teacher, θ_1, θ_2 and θ_1 + θ_2 - θ_T
    return L.LandscapeCfg(**({"distill": DISTILL, "view": "shared", "coords": "interp", "resolution": 2,
                              "margin": 0.0} | SMALL | kw))


# Shared across the module's tests (each entry is computed once), except under mutmut (MUTANT_UNDER_TEST is set
# from its first pass on): it maps a test to the functions the test itself calls, so a test that only reads an
# entry another test computed would never be run against the engine's mutants.
@pytest.fixture(scope=lambda **_: "function" if "MUTANT_UNDER_TEST" in os.environ else "module")
def store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("results"))


def vectors(n=500, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, generator=g, dtype=torch.float64).float().double() for _ in range(4)]


def test_interpolation_plane_hits_the_three_points_exactly():
    t, p1, p2, third = vectors()
    pl = L.plane(t, p1, p2, "interp", third)
    for (name, a, b), target in zip(pl.points, (t, p1, p2)):
        assert torch.equal(pl.at(a, b).float(), target.float()), name


def test_orthonormal_coordinates_reproduce_points_and_preserve_distances_and_angles():
    t, p1, p2, third = vectors(seed=1)
    pl = L.plane(t, p1, p2, "ortho", third)
    assert abs(pl.u @ pl.v) < 1e-12 and abs(pl.u.norm() - 1) < 1e-12 and abs(pl.v.norm() - 1) < 1e-12
    for (name, a, b), target in zip(pl.points, (t, p1, p2)):
        assert torch.allclose(pl.at(a, b), target, atol=1e-10), name
    g = torch.Generator().manual_seed(2)
    for _ in range(5):
        (a1, b1), (a2, b2) = torch.randn(2, 2, generator=g, dtype=torch.float64).tolist()
        assert math.isclose((pl.at(a1, b1) - pl.at(a2, b2)).norm().item(), math.hypot(a1 - a2, b1 - b2), rel_tol=1e-9)
    (_, a1, b1), (_, a2, b2) = pl.points[1:]
    cos_coords = (a1 * a2 + b1 * b2) / (math.hypot(a1, b1) * math.hypot(a2, b2))
    cos_params = ((p1 - t) @ (p2 - t) / ((p1 - t).norm() * (p2 - t).norm())).item()
    assert math.isclose(cos_coords, cos_params, rel_tol=1e-9)
    # the stacking direction is orthogonal to the plane, as long as θ_1 - θ_T
    assert abs(pl.w @ pl.u) < 1e-9 and abs(pl.w @ pl.v) < 1e-9 and abs(pl.w.norm() - (p1 - t).norm()) < 1e-9


def filter_norms(vec, net):
    """Per-filter norms of a flat vector in net's layout, for the parameters with filters (dim > 1)."""
    out, i = [], 0
    for p in net.parameters():
        if p.dim() > 1:
            out.append(vec[i:i + p.numel()].view(p.shape).flatten(1).norm(dim=1))
        i += p.numel()
    return torch.cat(out)


def test_filter_normalized_direction_matches_the_filter_norms_of_its_center():
    net = make_nets(DISTILL, 1)[0]
    center = 3.0 * L.flat_params(make_nets(DISTILL, 1)[1])  # not the net's own weights
    d = L.filter_normalized_direction(net, center, seed=3)
    i = 0
    for p in net.parameters():
        part = d[i:i + p.numel()].view(p.shape)
        if p.dim() <= 1:
            assert not part.any()
        else:
            c = center[i:i + p.numel()].view(p.shape)
            assert torch.allclose(part.flatten(1).norm(dim=1), c.flatten(1).norm(dim=1), rtol=1e-9)
        i += p.numel()
    assert not torch.equal(d, L.filter_normalized_direction(net, center, seed=4))


def test_random_view_around_a_student_scales_to_the_student_and_stacks_off_its_plane(store):
    c = cfg(view="random", center="nonlocal")
    teacher, vecs = L.endpoints(c, store, "cpu")
    pl = L.build_plane(c, teacher, vecs)
    assert torch.equal(pl.origin, vecs["nonlocal"])
    student_norms, teacher_norms = filter_norms(vecs["nonlocal"], teacher), filter_norms(vecs["teacher"], teacher)
    assert not torch.allclose(student_norms, teacher_norms, rtol=1e-3)  # else the test could not tell them apart
    for direction in (pl.u, pl.v):
        assert torch.allclose(filter_norms(direction, teacher), student_norms, rtol=1e-9)
    for direction in (pl.u, pl.v):  # the stacking direction leaves the plane at a right angle
        assert abs(pl.w @ direction) < 1e-9 * pl.w.norm() * direction.norm()
    third = L.filter_normalized_direction(teacher, vecs["nonlocal"], c.dir_seed + 2)
    assert math.isclose(pl.w.norm().item(), third.norm().item(), rel_tol=1e-12)


def test_random_lines_are_as_long_as_the_local_student_and_sample_the_crops_offsets(store):
    c = cfg(view="lines", directions=3, crop=1.0, resolution=3, probes=False)
    res = store.get_or_run("landscape", c, L.landscape).metrics
    teacher, vecs = L.endpoints(c, store, "cpu")
    lines = L.build_plane(c, teacher, vecs)
    length = (vecs["local"] - vecs["teacher"]).norm().item()
    assert [d.norm().item() for d in lines.dirs] == pytest.approx([length] * 3, rel=1e-12)
    assert lines.dirs[0].tolist() != lines.dirs[1].tolist()  # three different directions
    assert res["a"] == pytest.approx([-length, 0.0, length], rel=1e-12) and res["b"] == [0.0, 1.0, 2.0]
    kl = np.array(res["grids"]["kl"][0])
    assert kl.shape == (3, 3) and np.all(kl[:, 1] == 0.0)  # the middle column is the teacher on every line
    assert np.isnan(res["grids"]["linear"]).all() and np.isnan(res["grids"]["knn"]).all()  # no probes asked
    # the same offsets as the crop around the teacher: the plane's e1 axis is the local student's direction
    zoom = store.get_or_run("landscape", cfg(coords="ortho", crop=1.0, resolution=3), L.landscape).metrics
    assert zoom["a"] == pytest.approx(res["a"], rel=1e-12)
    assert config_hash("landscape", cfg()) == config_hash("landscape", cfg(directions=0, probes=True))  # old keys


def test_kl_of_nearly_equal_logits_is_accurate_below_float32_rounding():
    g = torch.Generator().manual_seed(0)
    t = (3 * torch.randn(64, 512, generator=g)).float()
    delta = 1e-4 * torch.randn(64, 512, generator=g)
    s = t + delta.float()
    d = s.double() - t.double()  # the perturbation the float32 logits actually carry
    p = torch.softmax(t.double(), 1)
    # KL(p ‖ q) = ½ Var_p(δ) + O(δ³) for logits q = p + δ
    expected = 0.5 * ((p * d ** 2).sum(1) - (p * d).sum(1) ** 2).sum().item()
    assert 1e-8 < expected < 1e-5
    assert math.isclose(L.ce_kl_sums(s, t)[1], expected, rel_tol=1e-3)


def at(res, metric, a, b, s=0):
    m = res.metrics
    return m["grids"][metric][s][m["b"].index(b)][m["a"].index(a)]


def test_bn_buffers_teacher_choice_reproduces_the_teacher(store):
    res = store.get_or_run("landscape", cfg(bn="teacher"), L.landscape)
    assert res.metrics["bn"] == "teacher" and res.config["bn"] == "teacher"
    assert abs(at(res, "kl", 0.0, 0.0)) < 1e-5 and abs(at(res, "enc_kl", 0.0, 0.0)) < 1e-6
    assert at(res, "kl", 1.0, 0.0) > 1e-4  # the trained student differs from its teacher
    teacher = make_nets(DISTILL, 1)[0]
    assert math.isclose(at(res, "norm", 0.0, 0.0), L.flat_params(teacher).norm().item(), rel_tol=1e-6)


def test_bn_buffers_recomputed_on_train_data(store):
    res = store.get_or_run("landscape", cfg(bn="recompute"), L.landscape)
    teacher = make_nets(DISTILL, 1)[0]
    ev = L.Evaluator(cfg(bn="recompute"), teacher, "cpu")
    recal = recalibrate_bn(teacher, ev.x_eval, ev.norm_eval).eval()
    with torch.no_grad():
        x = ev.norm_eval(ev.x_eval)
        expected = distill_loss(recal(x), teacher(x))[1].item()
    assert expected > 1e-4  # recomputing BN statistics moves the teacher point away from the teacher
    assert math.isclose(at(res, "kl", 0.0, 0.0), expected, rel_tol=1e-4)
    loop = store.get_or_run("landscape", cfg(bn="teacher"), L.landscape)
    assert at(res, "kl", 0.0, 0.0) != at(loop, "kl", 0.0, 0.0)


@pytest.mark.parametrize("bn", ["teacher", "recompute"])
def test_batched_and_loop_give_the_same_numbers(store, bn):
    kw = dict(view="nonlocal", coords="ortho", margin=0.1, stack=(0.0, 0.5), bn=bn)
    loop = store.get_or_run("landscape", cfg(batched=False, **kw), L.landscape).metrics
    vm = store.get_or_run("landscape", cfg(batched=True, **kw), L.landscape).metrics
    for m in ("loss", "kl", "enc_kl", "norm"):
        assert torch.allclose(torch.tensor(loop["grids"][m]), torch.tensor(vm["grids"][m]), rtol=1e-5, atol=1e-6), m
    for m in ("linear", "knn"):  # at most one test image decided differently
        assert (torch.tensor(loop["grids"][m]) - torch.tensor(vm["grids"][m])).abs().max() <= 1 / SMALL["probe_test"]
    assert torch.tensor(loop["grids"]["kl"]).isfinite().all() and loop["points_evaluated"] == 8


def test_random_directions_view_is_centred_on_its_point(store):
    res = store.get_or_run("landscape", cfg(view="random", center="teacher", resolution=3, span=0.5), L.landscape)
    m = res.metrics
    assert m["a"] == [-0.5, 0.0, 0.5] and m["points"] == [{"name": "teacher", "a": 0.0, "b": 0.0}]
    assert abs(at(res, "kl", 0.0, 0.0)) < 1e-5 and at(res, "kl", 0.5, 0.5) > 1e-4


def test_interrupted_grid_resumes_with_only_the_missing_points(store, monkeypatch):
    st = store
    c = cfg(resolution=3, margin=0.1, dir_seed=1)  # its own entry; dir_seed only moves stacked planes
    calls, real = [], L.Evaluator.loop

    def counting(self, thetas):
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed after two chunks (4 points)
        calls.append(len(thetas))
        return real(self, thetas)

    monkeypatch.setattr(L.Evaluator, "loop", counting)
    with pytest.raises(KeyboardInterrupt):
        st.get_or_run("landscape", c, L.landscape)
    assert list((st.path("landscape", c)).glob("ckpt-*.pt"))
    calls.clear()
    monkeypatch.setattr(L.Evaluator, "loop", lambda self, th: calls.append(len(th)) or real(self, th))
    resumed = st.get_or_run("landscape", c, L.landscape).metrics
    assert sum(calls) == 9 - 4 and resumed["points_evaluated"] == 9
    monkeypatch.setattr(L.Evaluator, "loop", real)
    uninterrupted = store.get_or_run("landscape", c, L.landscape).metrics
    assert resumed["grids"] == uninterrupted["grids"]


def test_finer_grid_is_a_new_entry_that_agrees_on_shared_points(store):
    coarse, fine = cfg(resolution=3, margin=0.1), cfg(resolution=5, margin=0.1)
    assert config_hash("landscape", coarse) != config_hash("landscape", fine)
    c = store.get_or_run("landscape", coarse, L.landscape).metrics
    f = store.get_or_run("landscape", fine, L.landscape).metrics
    assert f["points_evaluated"] == 25
    assert torch.allclose(torch.tensor(f["a"][::2]), torch.tensor(c["a"]), atol=1e-12)
    for m in ("loss", "kl", "norm"):
        assert torch.allclose(torch.tensor(f["grids"][m])[:, ::2, ::2], torch.tensor(c["grids"][m]), rtol=1e-5), m


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 135.0, 180.0])
@pytest.mark.parametrize("offset", [-1.0, -0.5, 0.0, 0.5, 1.0])
def test_line_slices_stay_inside_awkward_windows(angle, offset):
    from rtdlib import landscape_plots as lp
    a, b = np.linspace(-0.3, 0.7, 7) * 1.7e-3, np.linspace(-1.1, 0.9, 5) * 3.3  # bounds that do not round evenly
    plane = np.add.outer(b, a)  # value = a + b: linear, so interpolation is exact
    m = {"a": a.tolist(), "b": b.tolist(), "grids": {"norm": [plane.tolist()]}}  # a metric drawn as stored
    dist, vals, ends = lp.line_slice(m, "norm", angle, offset)
    if abs(offset) == 1 and angle % 90:  # tangent to the window: it touches only a corner
        assert ends is None and len(dist) == len(vals) == 0
        return
    start, end = ends
    assert dist[0] == 0 and np.isclose(dist[-1], np.linalg.norm(end - start))
    t = np.linspace(0, 1, len(vals))[:, None]
    expected = (start + t * (end - start)).sum(1)
    assert np.allclose(vals, expected, atol=1e-9 * (abs(a).max() + abs(b).max()))


def toy_grid(stack=(0.0,)):
    """3x3 planes with KL 0 at the teacher (centre) and 1e-6 .. 1e-2 elsewhere."""
    kl = np.array([[1e-2, 1e-3, 1e-4], [1e-5, 0.0, 1e-6], [1e-3, 1e-4, 1e-5]])
    return {"a": [-1.0, 0.0, 1.0], "b": [-1.0, 0.0, 1.0], "stack": list(stack),
            "points": [{"name": "teacher", "a": 0.0, "b": 0.0}, {"name": "student", "a": 1.0, "b": 0.0}],
            "grids": {"kl": [kl.tolist()] * len(stack), "norm": [(np.arange(9.0).reshape(3, 3) + 1).tolist()] * len(stack)}}


def test_kl_colour_range_comes_from_the_nonzero_values_and_the_zero_is_marked():
    from matplotlib.figure import Figure

    from rtdlib import landscape_plots as lp
    ax = Figure().subplots()
    im = lp.heatmap(ax, toy_grid(), "kl", colorbar=False)
    assert np.allclose(im.get_clim(), (-6, -2))
    assert np.ma.getmaskarray(im.get_array()).reshape(3, 3)[1, 1]  # drawn as "no value", not as a floor
    zero = [ln for ln in ax.lines if ln.get_label().startswith("KL = 0")]
    assert len(zero) == 1 and list(zero[0].get_xdata()) == [0.0] and list(zero[0].get_ydata()) == [0.0]


def test_points_are_marked_only_on_the_stacked_plane_that_holds_them():
    from matplotlib.figure import Figure

    from rtdlib import landscape_plots as lp
    m = toy_grid(stack=(-0.5, 0.0))
    labels = []
    for s in range(2):
        ax = Figure().subplots()
        lp.heatmap(ax, m, "kl", stack=s, colorbar=False)
        labels.append({ln.get_label() for ln in ax.lines})
    assert not {"teacher", "student"} & labels[0] and {"teacher", "student"} <= labels[1]


def test_kl_slice_through_the_teacher_loses_only_the_zero_itself():
    from rtdlib import landscape_plots as lp
    dist, vals, _ = lp.line_slice(toy_grid(), "kl", 0.0, 0.0, n=201)  # point 100 is the teacher (0, 0)
    assert np.isnan(vals[100]) and np.isfinite(np.delete(vals, 100)).all()
    kl_row = np.array([1e-5, 0.0, 1e-6])  # the row b = 0: KL interpolated linearly, then log10
    assert np.allclose(vals[[0, 50, 150, 200]], np.log10([kl_row[0], kl_row[0] / 2, kl_row[2] / 2, kl_row[2]]))


def test_probe_accuracies_are_drawn_in_percent():
    from rtdlib import landscape_plots as lp
    m = toy_grid()
    m["grids"]["linear"] = [[[0.1, 0.2, 0.3]] * 3]
    assert np.allclose(lp.values(m, "linear")[0], [10, 20, 30])
    _, vals, _ = lp.line_slice(m, "linear", 0.0, 0.0, n=3)
    assert np.allclose(vals, [10, 20, 30]) and "%" in lp.LABELS["linear"]


def test_landscape_grids_over_seeds_keep_the_first_seeds_entries():
    from rtdlib import sweeps
    from rtdlib.config import config_hash
    from rtdlib.profiles import settings
    one = sweeps.landscape_grids(settings("05_landscapes", "smoke", seeds=[0]))
    three = sweeps.landscape_grids(settings("05_landscapes", "smoke", seeds=[0, 1, 2]))
    assert {k: config_hash("landscape", c) for k, c in one.items()} == \
        {k: config_hash("landscape", three[k]) for k in one}  # a single seed's store entries are unchanged
    extra = {k: c for k, c in three.items() if k not in one}
    assert sorted(extra) == ["shared/ortho/zoom/seed=1", "shared/ortho/zoom/seed=2"]
    zoom = one["shared/ortho/zoom"]
    for seed, c in zip((1, 2), (extra["shared/ortho/zoom/seed=1"], extra["shared/ortho/zoom/seed=2"])):
        assert c.distill.seed == seed and c.distill == dataclasses.replace(zoom.distill, seed=seed)
        assert dataclasses.replace(c, distill=zoom.distill) == zoom  # the same crop, around another teacher


def test_grid_nodes_hold_the_points_they_are_named_after(store):
    """In the shared view θ_1 (the local student) sits at (a, b) = (1, 0) and θ_2 (the nonlocal one) at
    (0, 1); the ‖θ‖ grid there is the norm of each stored student's parameters, summed by hand."""
    from dataclasses import replace
    c = cfg(bn="teacher")
    res = store.get_or_run("landscape", c, L.landscape)
    params = {n for n, _ in make_nets(DISTILL, 1)[0].named_parameters()}

    def norm(alpha):
        sd = store.get("distill", replace(DISTILL, alpha=alpha)).load("student")
        return math.sqrt(sum(v.double().pow(2).sum().item() for k, v in sd.items() if k in params))

    local, nonlocal_ = norm(c.local_alpha), norm(1.0)
    assert abs(local - nonlocal_) > 1e-3 * local  # the two points are told apart
    assert math.isclose(at(res, "norm", 1.0, 0.0), local, rel_tol=1e-6)
    assert math.isclose(at(res, "norm", 0.0, 1.0), nonlocal_, rel_tol=1e-6)


@pytest.mark.parametrize("batched", [False, True])
def test_grid_point_metrics_by_hand(batched):
    """At a point away from the teacher: the distillation loss and KL from the head's logits, the encoder KL
    from the softmax of the encoder features (not of the logits), and the norm, all computed here directly."""
    c = cfg(batched=batched)
    teacher, fresh, _ = make_nets(dataclasses.replace(DISTILL, alpha=1.0), 1)
    ev = L.Evaluator(c, teacher, "cpu")
    theta = 0.7 * L.flat_params(teacher) + 0.3 * L.flat_params(fresh)
    (row,) = (ev.batched if batched else ev.loop)([theta])
    net = copy.deepcopy(teacher).eval()
    torch.nn.utils.vector_to_parameters(theta.float(), net.parameters())
    with torch.no_grad():
        x = ev.norm_eval(ev.x_eval)
        s_feat, t_feat = net.features(x).double(), teacher.eval().features(x).double()
        s_log, t_log = net.head(s_feat.float()).double(), teacher.head(t_feat.float()).double()

    def kl(s, t):
        return (t.softmax(1) * (t.log_softmax(1) - s.log_softmax(1))).sum(1).mean().item()
    n = len(x)
    assert n == 64 and row["norm"] == pytest.approx(theta.norm().item(), rel=1e-12)
    assert row["kl"] == pytest.approx(kl(s_log, t_log), rel=1e-4)
    assert row["loss"] == pytest.approx(-(t_log.softmax(1) * s_log.log_softmax(1)).sum(1).mean().item(), rel=1e-5)
    assert row["enc_kl"] == pytest.approx(kl(s_feat, t_feat), rel=1e-4)
    assert abs(kl(s_feat, t_feat) - kl(s_log, t_log)) > 1e-2 * kl(s_log, t_log)  # the two KLs do differ


LINES = "view 'lines' needs directions >= 1, crop > 0 and stack (0.0,); every other view directions = 0"


@pytest.mark.parametrize("kw, message", [
    ({"view": "sideways"}, "unknown landscape view 'sideways'; allowed: nonlocal, shared, random, lines"),
    ({"coords": "polar"}, "unknown landscape coordinates 'polar'; allowed: interp, ortho"),
    ({"bn": "student"}, "unknown BN buffer choice 'student'; allowed: teacher, recompute"),
    ({"center": "peer"}, "unknown random-view center 'peer'; allowed: teacher, local, nonlocal"),
    ({"resolution": 1}, "resolution = 1 is outside [2, 1001]"),
    ({"resolution": 1002}, "resolution = 1002 is outside [2, 1001]"),
    ({"margin": 10.5}, "margin = 10.5 is outside [0.0, 10.0]"),
    ({"crop": -1.0}, "crop = -1.0 is outside [0.0, 1000000.0]"),
    ({"crop": 1000001.0}, "crop = 1000001.0 is outside [0.0, 1000000.0]"),
    ({"span": 0.0}, "span = 0.0 is outside (0.0, 1000000.0]"),
    ({"span": 1000001.0}, "span = 1000001.0 is outside (0.0, 1000000.0]"),
    ({"local_alpha": 1.5}, "local_alpha = 1.5 is outside [0.0, 1.0]"),
    ({"stack": ()}, "stack must hold at least one offset, e.g. (0.0,)"),
    ({"view": "lines"}, "view 'lines' with directions = 0, crop = 0.0, stack = (0.0,): " + LINES),
    ({"directions": 2}, "view 'shared' with directions = 2, crop = 0.0, stack = (0.0,): " + LINES),
    ({"view": "lines", "directions": 1, "crop": 0.0}, "view 'lines' with directions = 1, crop = 0.0, stack = (0.0,): "
     + LINES),
    ({"view": "lines", "directions": 1, "crop": 1.0, "stack": (0.0, 1.0)},
     "view 'lines' with directions = 1, crop = 1.0, stack = (0.0, 1.0): " + LINES),
    ({"eval_size": 0}, "eval_size = 0 must be a positive integer"),
    ({"chunk": True}, "chunk = True must be a positive integer"),
    ({"probe_test": 2.0}, "probe_test = 2.0 must be a positive integer"),
])
def test_every_landscape_setting_is_checked_with_its_whole_message(kw, message):
    with pytest.raises(ConfigError) as e:
        cfg(**kw)
    assert str(e.value) == message


def test_landscape_settings_at_their_edges_are_accepted():
    edge = cfg(resolution=1001, margin=10.0, crop=1e6, span=1e6, local_alpha=1.0, eval_size=1, chunk=1,
               stack=[0, 1])
    assert edge.stack == (0.0, 1.0) and isinstance(edge.stack[1], float)
    assert cfg(view="lines", directions=1, crop=0.5).directions == 1


def test_plane_and_line_points_by_hand():
    o, u, v, w = (torch.tensor(x, dtype=torch.float64) for x in ([1., 0, 0], [0., 1, 0], [0., 0, 1], [2., 2, 2]))
    assert L.Plane(o, u, v, w, []).at(2.0, 3.0, 0.5).tolist() == [2.0, 3.0, 4.0]
    lines = L.Lines(o, [u, w], 1.0, [])
    assert lines.at(-2.0, 1.0).tolist() == [-3.0, -4.0, -4.0] and lines.at(3.0, 0.0).tolist() == [1.0, 3.0, 0.0]


def test_basis_info_by_hand():
    o = torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64)
    u, v, w = (torch.tensor(x, dtype=torch.float64) for x in ([3., 0, 0], [1., 1, 0], [0., 0, 2]))
    assert L.basis_info(L.Plane(o, u, v, w, [])) == pytest.approx(
        {"norm_u": 3.0, "norm_v": math.sqrt(2), "norm_w": 2.0, "cos_uv": 1 / math.sqrt(2), "norm_origin": 5.0},
        rel=1e-12)
    dirs = [torch.tensor(x, dtype=torch.float64) for x in ([3.0, 0.0, 0.0], [1.5, 1.5 * math.sqrt(3), 0.0],
                                                           [0.0, 0.0, -3.0])]
    assert L.basis_info(L.Lines(o, dirs, 3.0, [])) == pytest.approx(
        {"norm_dirs": 3.0, "max_abs_cos": 0.5, "norm_origin": 5.0}, rel=1e-12)  # 60 degrees between the first two


@pytest.mark.parametrize("kw, points, expected", [
    # interpolation: pad by k whole steps, k = round(margin (R - 1) / (1 + 2 margin)), at most (R - 2) // 2
    ({"resolution": 11, "margin": 0.25}, None, (-1 / 3, 4 / 3)),  # k = round(1.67) = 2; pad = 2 / (10 - 4)
    ({"resolution": 5, "margin": 10.0}, None, (-0.5, 1.5)),       # k = 2, capped at 1; pad = 1 / (4 - 2)
    ({"resolution": 9, "margin": 10.0}, None, (-1.5, 2.5)),       # k = 4, capped at 3; pad = 3 / (8 - 6)
    ({"resolution": 11, "margin": 0.0}, None, (0.0, 1.0)),
    ({"resolution": 7, "margin": 0.5}, None, (-1.0, 2.0)),        # k = round(1.5) = 2; pad = 2 / (6 - 4)
    # orthonormal: the points' box padded by margin x its longer side
    ({"coords": "ortho", "margin": 0.25}, [("t", 0.0, 0.0), ("p1", 2.0, 0.0), ("p2", -1.0, 1.5)],
     (-1.75, 2.75, -0.75, 2.25)),
    # a crop: a square of half-width crop x |θ_1 - θ_T| around the origin, whatever the margin
    ({"coords": "ortho", "crop": 0.5, "margin": 3.0}, [("t", 0.0, 0.0), ("p1", 3.0, 4.0), ("p2", -1.0, 1.5)],
     (-2.5, 2.5, -2.5, 2.5)),
    ({"coords": "interp", "crop": 0.5}, [("t", 0.0, 0.0), ("p1", 1.0, 0.0), ("p2", 0.0, 1.0)], (-0.5, 0.5)),
    ({"coords": "ortho", "crop": 0.5}, [("t", 0.0, 0.0), ("p1", 3.0, 4.0)], (-2.5, 2.5)),  # θ_1 alone will do
    # the random view: one point, whose crop unit is one direction length
    ({"view": "random", "span": 2.0, "crop": 0.25}, [("center", 0.0, 0.0)], (-0.25, 0.25)),
    ({"view": "random", "span": 2.0}, [("center", 0.0, 0.0)], (-2.0, 2.0)),
])
def test_window_by_hand(kw, points, expected):
    c = cfg(**kw)
    got = L.window(c, points or [("t", 0.0, 0.0), ("p1", 1.0, 0.0), ("p2", 0.0, 1.0)])
    assert got == pytest.approx(expected * 2 if len(expected) == 2 else expected, rel=1e-12, abs=1e-12)


def test_endpoint_runs_of_each_view():
    base = dataclasses.replace(DISTILL, alpha=0.5)

    def alphas(**kw):
        return {k: (c.alpha, dataclasses.replace(c, alpha=0.5) == base)
                for k, c in L.endpoint_cfgs(cfg(distill=base, **kw)).items()}
    assert alphas(view="shared", local_alpha=0.01) == {"local": (0.01, True), "nonlocal": (1.0, True)}
    assert alphas(view="nonlocal") == {"nonlocal": (1.0, True)}
    assert alphas(view="lines", directions=2, crop=1.0) == {"local": (1e-10, True)}
    assert alphas(view="random") == {} and alphas(view="random", center="local") == {"local": (1e-10, True)}


def test_endpoints_are_the_stores_distillation_runs_and_a_foreign_teacher_is_refused(tmp_path, monkeypatch):
    st = Store(tmp_path / "results")
    c = cfg(view="nonlocal")
    teacher, vecs = L.endpoints(c, st, "cpu")
    stored = st.get("distill", dataclasses.replace(DISTILL, alpha=1.0))  # the entry notebook 01 shares
    net = copy.deepcopy(teacher)
    net.load_state_dict(stored.load("student"))
    assert torch.equal(vecs["nonlocal"], L.flat_params(net)) and sorted(vecs) == ["fresh", "nonlocal", "teacher"]
    t, fresh, _ = make_nets(dataclasses.replace(DISTILL, alpha=1.0), 1)  # α = 1: the student is the fresh init
    assert torch.equal(vecs["teacher"], L.flat_params(t)) and torch.equal(vecs["fresh"], L.flat_params(fresh))
    real = L.make_nets
    monkeypatch.setattr(L, "make_nets", lambda d, ch: real(dataclasses.replace(d, seed=d.seed + 1), ch))
    with pytest.raises(RuntimeError) as e:
        L.endpoints(c, st, "cpu")
    assert str(e.value) == f"stored teacher of distill/{stored.hash} differs from make_nets' teacher"


@pytest.mark.parametrize("view, coords", [("nonlocal", "interp"), ("shared", "interp"), ("shared", "ortho")])
def test_planes_of_each_view_by_hand(view, coords, store):
    c = cfg(view=view, coords=coords, local_alpha=0.01, dir_seed=5)
    teacher, vecs = L.endpoints(c, store, "cpu")
    pl = L.build_plane(c, teacher, vecs)
    t = vecs["teacher"]
    p1, p2 = (vecs["fresh"], vecs["nonlocal"]) if view == "nonlocal" else (vecs["local"], vecs["nonlocal"])
    names = ["teacher", "fresh init" if view == "nonlocal" else "student α=0.01", "student α=1"]
    assert [p[0] for p in pl.points] == names
    e1, e2 = L.orthonormal_pair(p1 - t, p2 - t)
    if coords == "interp":
        assert [p[1:] for p in pl.points] == [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]
        assert torch.equal(pl.u, p1 - t) and torch.equal(pl.v, p2 - t)
    else:
        assert torch.equal(pl.u, e1) and torch.equal(pl.v, e2)
        assert pl.points[1][1:] == ((p1 - t).norm().item(), 0.0)
    third = L.filter_normalized_direction(teacher, t, 5 + 2)  # the third direction: dir_seed + 2
    third = L.off_plane(third, e1, e2, (p1 - t).norm())
    assert torch.allclose(pl.w, third, rtol=0, atol=1e-12 * third.norm().item())


def test_random_plane_and_lines_directions_come_from_their_documented_seeds(store):
    c = cfg(view="random", center="teacher", dir_seed=4)
    teacher, vecs = L.endpoints(c, store, "cpu")
    t = vecs["teacher"]
    pl = L.build_plane(c, teacher, vecs)
    u, v, third = (L.filter_normalized_direction(teacher, t, seed) for seed in (4, 5, 6))
    assert torch.equal(pl.u, u) and torch.equal(pl.v, v) and pl.points == [("teacher", 0.0, 0.0)]
    assert torch.allclose(pl.w, L.off_plane(third, *L.orthonormal_pair(u, v), third.norm()), rtol=0, atol=1e-9)
    lc = cfg(view="lines", directions=2, crop=1.0, dir_seed=4)
    teacher, vecs = L.endpoints(lc, store, "cpu")
    lines = L.build_plane(lc, teacher, vecs)
    length = (vecs["local"] - t).norm()
    for k, d in enumerate(lines.dirs):  # seeds dir_seed + 3 on: none shared with the planes' three
        raw = L.filter_normalized_direction(teacher, t, 4 + 3 + k)
        assert torch.allclose(d, raw / raw.norm() * length, rtol=0, atol=1e-12 * length.item())
    assert lines.points == [("teacher", 0.0, 0.0)] and lines.length == length.item()


def test_filter_normalized_direction_of_one_input_filters_and_a_wrong_center():
    """Filters of one weight each: a Gaussian draw often has norm below 1, and must still be rescaled to the
    center's filter norm (no floor other than against division by zero)."""
    net = torch.nn.Sequential(torch.nn.Linear(1, 6), torch.nn.Linear(6, 1))
    center = torch.arange(1.0, 20.0, dtype=torch.float64)  # 6 + 6 + 6 + 1 parameters
    d = L.filter_normalized_direction(net, center, seed=0)
    assert d[:6].abs().tolist() == pytest.approx(list(range(1, 7)), rel=1e-12)  # |d_i| = |center_i|, one each
    assert d[6:12].tolist() == [0.0] * 6 and d.dtype == torch.float64  # biases get no component
    with pytest.raises(ValueError) as e:
        L.filter_normalized_direction(net, torch.zeros(25, dtype=torch.float64), seed=0)
    assert str(e.value) == "center has 25 entries; the net has 19 parameters"


def test_probe_metrics_use_the_configured_probe_settings_over_several_batches(monkeypatch):
    """Probe features gathered over several image batches (loop and vmapped), probed with the run's l2 and
    k-NN metric: the linear and k-NN accuracies equal the probes applied here by hand."""
    from rtdlib.probe import knn_probe, linear_probe
    monkeypatch.setattr(L, "EVAL_BATCH", 16)
    probe = ProbeCfg(linear_steps=10, linear_l2=0.3, knn_k=3, knn_metric="cosine", low_label=None)
    c = cfg(distill=dataclasses.replace(DISTILL, probe=probe), probe_train=100, probe_test=40, linear_steps=10)
    teacher, fresh, _ = make_nets(dataclasses.replace(DISTILL, alpha=1.0), 1)
    ev = L.Evaluator(c, teacher, "cpu")
    theta = 0.5 * L.flat_params(teacher) + 0.5 * L.flat_params(fresh)
    net = copy.deepcopy(teacher).eval()
    torch.nn.utils.vector_to_parameters(theta.float(), net.parameters())
    with torch.no_grad():
        ftr, fte = net.features(ev.norm_probe(ev.x_ptr)), net.features(ev.norm_probe(ev.x_pte))
    lin = linear_probe(ftr, ev.y_ptr, fte, ev.y_pte, 10, 10, 0.3)
    knn = knn_probe(ftr, ev.y_ptr, fte, ev.y_pte, 10, 3, "cosine")
    assert lin != linear_probe(ftr, ev.y_ptr, fte, ev.y_pte, 10, 10) or knn != knn_probe(ftr, ev.y_ptr, fte,
                                                                                       ev.y_pte, 10, 3)
    (loop,), (vmapped,) = ev.loop([theta]), ev.batched([theta])
    assert loop["knn"] == knn and abs(loop["linear"] - lin) <= 1 / 40
    assert abs(vmapped["linear"] - lin) <= 1 / 40 and abs(vmapped["knn"] - knn) <= 1 / 40


def test_the_engine_stores_endpoints_beside_its_run_and_grids_in_float64(tmp_path, default_store, monkeypatch):
    """Called by the store, the endpoints go into the run's own store; called alone, into the default store.
    Grid values are the evaluator's float64 numbers; a fake clock gives the recorded time exactly."""
    clock = iter(range(1000))
    monkeypatch.setattr(L.time, "perf_counter", lambda: 0.12345 * next(clock))  # each chunk: 0.12345 s
    c = cfg(view="nonlocal", coords="ortho", resolution=3, chunk=4, stack=(0.0, 0.25), probes=False)
    own = Store(tmp_path / "own")
    res = own.get_or_run("landscape", c, L.landscape).metrics
    assert own.get("distill", dataclasses.replace(DISTILL, alpha=1.0)) is not None
    assert not any(default_store.iterdir())
    assert sorted(res) == ["a", "b", "basis", "bn", "eval_seconds", "grids", "points", "points_evaluated",
                           "seconds_per_point", "stack"]
    assert res["stack"] == [0.0, 0.25] and res["points_evaluated"] == 18
    assert res["eval_seconds"] == 0.617  # 18 points in 5 chunks, 5 x 0.12345 s rounded to milliseconds
    assert res["seconds_per_point"] == pytest.approx(5 * 0.12345 / 18, rel=1e-12)
    teacher, vecs = L.endpoints(c, own, "cpu")
    pl = L.build_plane(c, teacher, vecs)
    assert res["basis"] == L.basis_info(pl)
    a0, a1, b0, b1 = L.window(c, pl.points)  # the axes in float64: the orthonormal window's ends are any number
    assert res["a"] == torch.linspace(a0, a1, 3, dtype=torch.float64).tolist()
    assert res["b"] == torch.linspace(b0, b1, 3, dtype=torch.float64).tolist() != \
        torch.linspace(b0, b1, 3).double().tolist()
    ev = L.Evaluator(c, teacher, "cpu")
    for s, i, j in ((0, 0, 0), (1, 2, 1), (0, 1, 2)):  # other rows and the stacked plane: each grid node's point
        (row,) = ev.loop([pl.at(res["a"][j], res["b"][i], res["stack"][s]).float().double()])
        assert {m: res["grids"][m][s][i][j] for m in ("loss", "kl", "enc_kl", "norm")} == \
            {m: row[m] for m in ("loss", "kl", "enc_kl", "norm")}, (s, i, j)
    alone = L.landscape(c)  # no run, no store: the default store
    assert alone["grids"]["kl"] == res["grids"]["kl"]
    assert (default_store / "distill").is_dir()


def test_batched_setting_runs_the_vmapped_evaluator(store, monkeypatch):
    used = []
    for name in ("loop", "batched"):
        real = getattr(L.Evaluator, name)
        monkeypatch.setattr(L.Evaluator, name, lambda self, th, real=real, name=name: used.append(name) or real(self, th))
    L.landscape(cfg(batched=True, probes=False, resolution=2), store=store)
    L.landscape(cfg(batched=False, probes=False, resolution=2), store=store)
    assert used == ["batched", "batched", "loop", "loop"]  # 4 points in chunks of 2
