"""The benchmarks import what rtdlib still has (make bench is not part of make test) and state their
comparisons with the house's tests."""
import importlib

import pytest

from bench import precision

BENCHES = ("breakdown", "distill_speed", "executor", "figures", "landscape", "peers", "precision", "probes")


@pytest.mark.parametrize("name", BENCHES)
def test_every_bench_module_imports_and_has_a_table(name):
    assert callable(importlib.import_module(f"bench.{name}").table)


def test_bf16_vs_fp32_is_judged_by_tost_at_one_point():
    # mean 0.1, sd 0.1225, se 0.05477: 90% CI half-width t_{.95,4} 2.1318 x se = 0.1168; TOST p is the
    # upper test's, P(t_4 > (1 - 0.1) / se = 16.43) = 4.0e-05
    assert precision.equivalence("linear", [0.1, 0.3, 0.0, 0.1, 0.0]) == \
        "linear +0.10 points, 90% CI [-0.02, +0.22], TOST p = 4e-05: equivalent"
    assert precision.equivalence("knn", [-2.0, 3.0, -1.0, 4.0, 0.5]).endswith("not shown equivalent")
