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
    kept = data.batch_indices(100, 32, seed=3, epoch=1, drop_last=False)  # 3 x 32 + 4, the same order
    assert [len(b) for b in kept] == [32, 32, 32, 4] and torch.equal(torch.cat(kept[:3]), torch.cat(a))
    assert sorted(torch.cat(kept).tolist()) == list(range(100))


def fake_mnist(root, folder="MNIST", n_train=30, n_test=10):
    d = root / folder / "raw"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        img, lab = data.FASHION_FILES[split]  # MNIST's files have the same names
        write_idx(d / img, rng.integers(0, 256, (n, 28, 28)))
        write_idx(d / lab, np.arange(n) % 10)


def test_other_torchvision_datasets_by_name_with_measured_statistics(tmp_path):
    fake_mnist(tmp_path)
    ds = data.load(DataCfg("mnist"), root=tmp_path)
    assert ds.x_train.shape == (30, 1, 28, 28) and ds.num_classes == 10 and len(ds.y_test) == 10
    assert ds.stats[0][0] == pytest.approx(ds.x_train.float().mean().item() / 255, abs=1e-5)  # no STATS entry
    with pytest.raises(data.DatasetMissing, match=r"kmnist not found at .*KMNIST/raw; .*data fetch kmnist"):
        data.require("kmnist", tmp_path)


def test_fetch_without_apt_get_says_what_to_do(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*a, **kw):
        raise RuntimeError("no internet")
    monkeypatch.setattr(tvd, "FashionMNIST", offline)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no apt-get, no dpkg-deb
    monkeypatch.setattr(data, "_fetch_debian_fashion", lambda root: pytest.fail("tried apt-get without apt-get"))
    with pytest.raises(data.DatasetMissing, match=r"no apt-get here .*train-images-idx3-ubyte.gz.* into "
                                                   r".*FashionMNIST/raw"):
        data.fetch("fashion-mnist", tmp_path / "data", log=lambda *_: None)


def test_device_choice_and_rtd_device(monkeypatch):
    from rtdlib.config import ConfigError, default_device
    monkeypatch.delenv("RTD_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert default_device() == "mps"  # Apple's GPU after CUDA
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == "cuda"
    monkeypatch.setenv("RTD_DEVICE", "mps")
    assert default_device() == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"RTD_DEVICE = 'mps' is not a device of this machine; allowed: cpu, cuda:N"):
        default_device()
    monkeypatch.setenv("RTD_DEVICE", "gpu")
    with pytest.raises(ConfigError, match="RTD_DEVICE = 'gpu'"):
        default_device()


def test_downsizing_is_antialiased_by_hand():
    """8 -> 4 pixels: each output pixel is a triangle-filtered mean of 4 inputs with weights 1/8, 3/8, 3/8, 1/8
    (plain bilinear would sample half-way between 2 of them: a 1-pixel line comes out as 128 or vanishes)."""
    x = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    x[:, :, :, 3] = 255  # a vertical line in column 3: weight 3/8 in output column 1, 1/8 in column 2
    out = data.resize(x, 4)
    assert out.dtype == torch.uint8 and out.shape == (2, 1, 4, 4)
    assert out.tolist() == [[[[0, 96, 32, 0]] * 4]] * 2  # round(255 * 3/8 = 95.6), round(255 / 8 = 31.9)
    corner = torch.zeros(1, 1, 2, 2, dtype=torch.uint8)
    corner[..., 0, 0] = 255  # upsizing 2 -> 4 by hand: weights 1, 3/4, 1/4, 0 along each axis
    assert data.resize(corner, 4)[0, 0, 0].tolist() == [255, 191, 64, 0]
