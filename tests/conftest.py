import os

import pytest
import torch

from rtdlib.config import DataCfg, DistillCfg, ModelCfg, ProbeCfg

torch.set_num_threads(min(2, os.cpu_count() or 1))
TINY_MODEL = ModelCfg("small_vgg", "batch", width=4, out_dim=64, hidden_dim=32, bottleneck_dim=16)


def tiny_cfg(**kw) -> DistillCfg:
    base = dict(data=DataCfg("digits", train_size=256, test_size=128), model=TINY_MODEL, epochs=2,
                batch_size=64, probe_epochs=(0, 2), probe=ProbeCfg(linear_steps=20), seed=0)
    base.update(kw)
    return DistillCfg(**base)


@pytest.fixture
def store(tmp_path):
    from rtdlib.store import Store
    return Store(tmp_path / "results")
