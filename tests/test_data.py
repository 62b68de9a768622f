import gzip
import struct

import numpy as np
import pytest
import torch

from rtdlib import data
from rtdlib.config import DataCfg


def write_idx(path, arr):
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def fake_fashion(root, n_train=40, n_test=20):
    d = root / "FashionMNIST" / "raw"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        img, lab = data.FASHION_FILES[split]
        write_idx(d / (img + ".gz"), rng.integers(0, 256, (n, 28, 28)))
        write_idx(d / lab, rng.integers(0, 10, (n,)))
    return d


def test_idx_reader_round_trip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", arr)
    assert (data.read_idx(tmp_path / "a.gz") == arr).all()
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 3, 4) + b"short")
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(tmp_path / "bad")


def test_fashion_mnist_from_torchvision_layout(tmp_path):
    fake_fashion(tmp_path)
    ds = data.load(DataCfg("fashion-mnist", train_size=30), root=tmp_path)
    assert ds.x_train.shape == (30, 1, 28, 28) and ds.x_train.dtype == torch.uint8
    assert ds.x_test.shape == (20, 1, 28, 28) and ds.y_test.dtype == torch.int64


def test_missing_dataset_names_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(data.DatasetMissing, match=r"looked in .*FashionMNIST/raw.*python -m rtdlib data fetch"):
        data.load(DataCfg("fashion-mnist"), root=tmp_path)
    with pytest.raises(data.DatasetMissing, match="cifar10 not found at .*cifar-10-batches-py"):
        data.load(DataCfg("cifar10"), root=tmp_path)


def test_digits_subsets_resize_and_noise():
    ds = data.load(DataCfg("digits", train_size=100, test_size=50, image_size=16))
    assert ds.x_train.shape == (100, 1, 16, 16) and ds.x_test.shape == (50, 1, 16, 16)
    assert set(ds.y_train.tolist()) <= set(range(10))
    again = data.load(DataCfg("digits", train_size=100, test_size=50, image_size=16))
    assert torch.equal(ds.x_train, again.x_train)
    noisy = data.load(DataCfg("digits", train_size=100, noise=True))
    assert noisy.x_train.dtype == torch.float32 and noisy.x_train.shape == (100, 1, 8, 8)
    assert abs(noisy.x_train.std().item() - 1) < 0.1
    assert torch.equal(noisy.x_test, data.load(DataCfg("digits")).x_test)  # probe data stays clean


def test_normalization_uses_dataset_statistics():
    ds = data.load(DataCfg("digits"))
    z = ds.normalize(ds.x_train)
    assert abs(z.mean().item()) < 0.05 and abs(z.std().item() - 1) < 0.05


def test_batches_are_a_seeded_permutation():
    a = data.batch_indices(100, 32, seed=3, epoch=1)
    assert [len(b) for b in a] == [32, 32, 32]  # last partial batch dropped
    assert len(torch.cat(a).unique()) == 96
    assert all(torch.equal(x, y) for x, y in zip(a, data.batch_indices(100, 32, seed=3, epoch=1)))
    assert not torch.equal(a[0], data.batch_indices(100, 32, seed=3, epoch=2)[0])
