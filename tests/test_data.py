import gzip
import struct

import numpy as np
import pytest
import torch

from rtdlib import data
from rtdlib.config import ConfigError, DataCfg


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
    assert ds.name == "fashion-mnist" and ds.num_classes == 10 and ds.stats == data.STATS["fashion-mnist"]


def test_fashion_mnist_in_a_plain_folder_and_the_message_naming_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(data.DatasetMissing) as e:
        data.require("fashion-mnist", tmp_path)
    assert str(e.value) == (f"Fashion-MNIST not found (looked in {tmp_path}/FashionMNIST/raw, {tmp_path}/fashion-mnist, "
                            f"{tmp_path}/nowhere, {tmp_path}/debian{tmp_path}/nowhere); fetch it with `make data` or "
                            f"`python -m rtdlib data fetch fashion-mnist`")
    fake_fashion(tmp_path / "plain")
    (tmp_path / "plain" / "FashionMNIST" / "raw").rename(tmp_path / "fashion-mnist")  # the four files, unpacked here
    assert data.load(DataCfg("fashion-mnist"), root=tmp_path).x_train.shape == (40, 1, 28, 28)


def test_normalize_three_channels_by_hand():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 3, 1, 1).expand(2, 3, 2, 2)
    ds = data.Dataset("cifar10", x, torch.zeros(2, dtype=torch.int64), x, torch.zeros(2, dtype=torch.int64), 10)
    mean, std = data.STATS["cifar10"]
    z = ds.normalize(x)
    assert z.shape == (2, 3, 2, 2) and z.dtype == torch.float32
    expected = [(0 - mean[0]) / std[0], (0.2 - mean[1]) / std[1], (1 - mean[2]) / std[2]]
    assert z[1, :, 1, 0].tolist() == pytest.approx(expected, rel=1e-6)


def test_data_directory_defaults_to_the_projects_data_folder(monkeypatch):
    from rtdlib.paths import project_root
    monkeypatch.delenv("RTD_DATA", raising=False)
    assert data.data_dir() == (project_root() / "data").resolve()


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


@pytest.mark.parametrize("tools", [[], ["apt-get"], ["dpkg-deb"]])
def test_fetch_without_apt_get_says_what_to_do(tmp_path, monkeypatch, offline, tools):
    (tmp_path / "bin").mkdir()
    for tool in tools:  # one of the two is not enough
        (tmp_path / "bin" / tool).write_text("#!/bin/sh\nexit 1\n")
        (tmp_path / "bin" / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(data, "_fetch_debian_fashion", lambda root: pytest.fail("tried apt-get without apt-get"))
    with pytest.raises(data.DatasetMissing) as e:
        data.fetch("fashion-mnist", tmp_path / "data", log=lambda *_: None)
    assert str(e.value) == (
        "could not download Fashion-MNIST (RuntimeError: no internet) and there is no apt-get here for Debian's "
        "package; check the internet connection, or put the four files train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (from "
        f"github.com/zalandoresearch/fashion-mnist) into {tmp_path / 'data' / 'FashionMNIST' / 'raw'}")


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


# ---------------------------------------------------------------- the paper's datasets, in their real layouts

@pytest.fixture
def trusted(monkeypatch, tmp_path):
    """torchvision checks the real files' md5 sums; the fakes below pass it."""
    from fake_layouts import trust_fakes
    trust_fakes(monkeypatch, tmp_path / "site")


def unpickled(path):
    import pickle
    return pickle.loads(path.read_bytes())


@pytest.mark.parametrize("classes, folder, files, key", [
    (10, "cifar-10-batches-py", ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]), "labels"),
    (100, "cifar-100-python", (["train"], ["test"]), "fine_labels")])
def test_cifar_loads_as_nchw_with_its_labels(tmp_path, trusted, classes, folder, files, key):
    """CIFAR stores each image as 3072 bytes, the red plane, then green, then blue: (3, 32, 32) as written."""
    from fake_layouts import write_cifar
    write_cifar(tmp_path, classes, n_train=20, n_test=10, seed=3)
    ds = data.load(DataCfg(f"cifar{classes}"), root=tmp_path)
    for split, names in zip(("train", "test"), files):
        batches = [unpickled(tmp_path / folder / n) for n in names]
        x = np.concatenate([b["data"] for b in batches]).reshape(-1, 3, 32, 32)
        y = sum((b[key] for b in batches), [])
        assert torch.equal(getattr(ds, f"x_{split}"), torch.from_numpy(x))
        assert getattr(ds, f"y_{split}").tolist() == y and getattr(ds, f"y_{split}").dtype == torch.int64
    assert ds.name == f"cifar{classes}" and ds.shape == (3, 32, 32) and ds.stats == data.STATS[f"cifar{classes}"]


def test_stl10_is_read_column_major_with_labels_from_zero(tmp_path, trusted):
    from fake_layouts import write_stl10
    write_stl10(tmp_path, n_train=6, n_test=4)
    ds = data.load(DataCfg("stl10"), root=tmp_path)
    folder, largest = tmp_path / "stl10_binary", 0
    for split, n in (("train", 6), ("test", 4)):
        stored = np.fromfile(folder / f"{split}_X.bin", dtype=np.uint8).reshape(n, 3, 96, 96)
        # the files hold each plane column by column: pixel (row r, column c) is stored at [c, r]
        assert torch.equal(getattr(ds, f"x_{split}"), torch.from_numpy(stored.transpose(0, 1, 3, 2).copy()))
        labels = np.fromfile(folder / f"{split}_y.bin", dtype=np.uint8)
        assert getattr(ds, f"y_{split}").tolist() == (labels.astype(int) - 1).tolist()  # 1..10 on disk
        assert getattr(ds, f"y_{split}").dtype == torch.int64  # stored as bytes
        largest = max(largest, int(labels.max()))
    assert ds.num_classes == largest and ds.stats == data.STATS["stl10"]  # classes counted from the labels


def test_svhn_counts_classes_over_both_splits_and_maps_label_10_to_0(tmp_path, trusted):
    from scipy.io import savemat
    rng = np.random.default_rng(0)
    x = {"train": rng.integers(0, 256, (32, 32, 3, 4), dtype=np.uint8),
         "test": rng.integers(0, 256, (32, 32, 3, 3), dtype=np.uint8)}  # (H, W, C, N) as distributed
    y = {"train": [1, 2, 10, 2], "test": [7, 1, 10]}  # digit 0 is label 10; the test split has the largest
    for split in x:
        savemat(tmp_path / f"{split}_32x32.mat", {"X": x[split], "y": np.array(y[split])[:, None]})
    ds = data.load(DataCfg("svhn"), root=tmp_path)
    assert torch.equal(ds.x_train, torch.from_numpy(x["train"].transpose(3, 2, 0, 1).copy()))
    assert ds.x_test[2, 1, 5, 7] == x["test"][5, 7, 1, 2]  # image 2, green, row 5, column 7
    assert ds.y_train.tolist() == [1, 2, 0, 2] and ds.y_test.tolist() == [7, 1, 0]
    assert ds.num_classes == 8


def test_usps_from_its_libsvm_files(tmp_path, trusted):
    """One line per image: the label 1..10, then 256 'index:value' pairs in [-1, 1], row by row."""
    import bz2

    def line(label, values):
        return f"{label} " + " ".join(f"{i + 1}:{v}" for i, v in enumerate(values)) + "\n"
    first = np.full(256, -1.0)
    first[:4] = [-1, 0, 1, 0.6]
    (tmp_path / "usps.bz2").write_bytes(bz2.compress((line(3, first) + line(10, -first)).encode()))
    (tmp_path / "usps.t.bz2").write_bytes(bz2.compress(line(1, np.ones(256)).encode()))
    ds = data.load(DataCfg("usps"), root=tmp_path)
    assert ds.x_train.shape == (2, 1, 16, 16) and ds.x_test.shape == (1, 1, 16, 16)
    assert ds.x_train[0, 0, 0, :5].tolist() == [0, 127, 255, 204, 0]  # (v + 1) / 2 * 255, truncated
    assert ds.x_train[1, 0, 15, 15] == 255 and ds.x_test.unique().tolist() == [255]
    assert ds.y_train.tolist() == [2, 9] and ds.y_test.tolist() == [0] and ds.num_classes == 10


def test_tiny_imagenet_classes_follow_the_sorted_wnids_and_val_is_the_test_split(tmp_path):
    from PIL import Image

    from fake_layouts import write_tiny_imagenet
    write_tiny_imagenet(tmp_path, classes=3, per_class=2, n_val=4)
    where = tmp_path / "tiny-imagenet-200"
    wnids = ["n00000000", "n00000001", "n00000002"]
    (where / "wnids.txt").write_text("n00000002\nn00000000\nn00000001\n")  # class ids follow the sorted names
    grey = where / "train" / "n00000001" / "images" / "n00000001_0.JPEG"  # the real set holds some grey images
    Image.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).save(grey, "JPEG")

    def decoded(path):
        return torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1).copy())
    ds = data.load(DataCfg("tiny-imagenet"), root=tmp_path)
    assert torch.equal(ds.x_train[2, 0], ds.x_train[2, 2])  # the grey image as three equal channels
    train = [where / "train" / w / "images" / f"{w}_{i}.JPEG" for w in wnids for i in range(2)]
    assert torch.equal(ds.x_train, torch.stack([decoded(p) for p in train]))
    assert ds.y_train.tolist() == [0, 0, 1, 1, 2, 2]
    assert torch.equal(ds.x_test, torch.stack([decoded(where / "val" / "images" / f"val_{i}.JPEG")
                                               for i in range(4)]))
    assert ds.y_test.tolist() == [0, 1, 2, 0]  # val_annotations.txt: val_i belongs to wnid i % 3
    assert ds.num_classes == 200 and ds.shape == (3, 64, 64) and ds.stats == data.STATS["tiny-imagenet"]


def test_require_checks_files_without_reading_them(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    data.require("digits", tmp_path)  # ships with scikit-learn
    fake_fashion(tmp_path)  # (its absence: test_fashion_mnist_in_a_plain_folder_and_the_message_naming_every_place_looked)
    data.require("fashion-mnist", tmp_path)
    (tmp_path / "cifar-10-batches-py").mkdir()  # present, even empty: require reads nothing
    data.require("cifar10", tmp_path)
    monkeypatch.setenv("RTD_DATA", str(tmp_path / "elsewhere"))  # no root: the data directory
    with pytest.raises(data.DatasetMissing, match=f"^cifar10 not found at {tmp_path / 'elsewhere'}/"):
        data.require("cifar10")


def test_idx_reader_rejects_other_types_naming_the_magic(tmp_path):
    (tmp_path / "floats").write_bytes(b"\x00\x00\x0d\x01" + struct.pack(">I", 1) + b"\x00" * 4)  # float32 IDX
    with pytest.raises(ValueError) as e:
        data.read_idx(tmp_path / "floats")
    assert str(e.value) == f"{tmp_path / 'floats'} is not a uint8 IDX file (magic 00000d01)"
    (tmp_path / "nonzero").write_bytes(b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match=r"nonzero is not a uint8 IDX file \(magic 01000801\)$"):
        data.read_idx(tmp_path / "nonzero")


def test_digits_split_and_pixels():
    """scikit-learn's 1,797 digits (levels 0..16) split once into 1,297 train and 500 test images, scaled to 0..255."""
    from sklearn.datasets import load_digits
    d = load_digits()
    ds = data.load(DataCfg("digits"))
    assert (len(ds.x_train), len(ds.x_test), ds.num_classes, ds.shape) == (1297, 500, 10, (1, 8, 8))
    images = [tuple(im.flatten()) for im in np.round(d.images * 255 / 16).astype(np.uint8)]
    pairs = sorted(zip(images, d.target.tolist()))
    loaded = sorted(zip(map(tuple, torch.cat([ds.x_train, ds.x_test]).flatten(1).tolist()),
                        torch.cat([ds.y_train, ds.y_test]).tolist()))
    assert loaded == pairs  # every image with its own label, once
    assert ds.x_train.max() == 255 and ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert ds.stats == ((0.3070,), (0.3766,))  # the fixed table, not measured at each load


def test_subsets_are_sorted_seeded_and_load_is_remembered(monkeypatch):
    full = data.load(DataCfg("digits"))
    sub = data.load(DataCfg("digits", train_size=50, test_size=20, subset_seed=4))
    assert sub is data.load(DataCfg("digits", train_size=50, test_size=20, subset_seed=4))  # one per process
    g = torch.Generator().manual_seed(4)
    train = torch.randperm(1297, generator=g)[:50].sort().values
    test = torch.randperm(500, generator=g)[:20].sort().values  # the same generator, drawn after train
    assert torch.equal(sub.x_train, full.x_train[train]) and torch.equal(sub.y_train, full.y_train[train])
    assert torch.equal(sub.x_test, full.x_test[test]) and torch.equal(sub.y_test, full.y_test[test])
    whole = data.load(DataCfg("digits", train_size=1297, test_size=5000))  # at or above the split's size: all
    assert torch.equal(whole.x_train, full.x_train) and torch.equal(whole.x_test, full.x_test)
    data._load.cache_clear()
    monkeypatch.setattr(data, "resize", lambda *a: pytest.fail("resized to the size it has"))
    assert torch.equal(data.load(DataCfg("digits", image_size=8)).x_train, full.x_train)


def test_noise_replaces_the_train_inputs_with_the_subset_seeds_noise():
    ds = data.load(DataCfg("digits", train_size=30, noise=True, subset_seed=2))
    assert torch.equal(ds.x_train, data.gaussian_noise(30, (1, 8, 8), seed=2))
    assert not torch.equal(ds.x_train, data.gaussian_noise(30, (1, 8, 8), seed=3))
    assert torch.equal(ds.y_train, data.load(DataCfg("digits", train_size=30, subset_seed=2)).y_train)
    assert torch.equal(ds.normalize(ds.x_train), ds.x_train)  # already in normalized units


def test_moving_a_dataset_moves_all_four_tensors():
    ds = data.load(DataCfg("digits", train_size=10, test_size=5))
    moved = ds.to("meta")
    assert [t.device.type for t in (moved.x_train, moved.y_train, moved.x_test, moved.y_test)] == ["meta"] * 4
    assert moved.device == torch.device("meta") and moved.stats == ds.stats and moved.num_classes == 10
    assert ds.device == torch.device("cpu")


def fake_fashion_deb(tmp_path):
    """A .deb stand-in (a tar of the files under DEBIAN_FASHION_DIR) and apt-get/dpkg-deb scripts that log their
    calls; apt-get download fails until apt-get update has run unless `fresh` exists."""
    import tarfile
    src = fake_fashion(tmp_path / "src")
    with tarfile.open(tmp_path / "pkg.tar", "w") as tar:
        for f in src.iterdir():
            tar.add(f, arcname=str(data.DEBIAN_FASHION_DIR.relative_to("/") / f.name))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {"apt-get": f"""echo "apt-get $*" >> {tmp_path}/calls
case "$1" in
  update) touch {tmp_path}/updated ;;
  download) [ -e {tmp_path}/updated ] || [ -e {tmp_path}/fresh ] || exit 100
            cp {tmp_path}/pkg.tar ./dataset-fashion-mnist_1.0_all.deb ;;
esac""", "dpkg-deb": f"""echo "dpkg-deb $*" >> {tmp_path}/calls
mkdir -p "$3" && tar -xf "$2" -C "$3" """}
    for name, body in scripts.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body + "\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No internet for torchvision's Fashion-MNIST and CIFAR-10, and no Debian package installed."""
    import torchvision.datasets as tvd

    def no_internet(*a, **kw):
        raise RuntimeError("no internet")
    for cls in ("FashionMNIST", "CIFAR10"):
        monkeypatch.setattr(tvd, cls, no_internet)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")


def test_fetch_falls_back_to_debians_package_running_apt_get_update_only_when_needed(tmp_path, monkeypatch, offline):
    import os
    monkeypatch.setenv("PATH", f"{fake_fashion_deb(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    root = tmp_path / "data"
    (root / "debian" / "stale").mkdir(parents=True)  # an older extraction is replaced whole
    logged = []
    assert data.fetch("fashion-mnist", root, log=logged.append) == root
    assert logged == ["torchvision download failed (RuntimeError); trying Debian's dataset-fashion-mnist",
                      f"Fashion-MNIST extracted from Debian's package into {root / 'debian'}"]
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[:3] == ["apt-get download dataset-fashion-mnist", "apt-get update -qq",
                         "apt-get download dataset-fashion-mnist"]
    assert len(calls) == 4 and calls[3].startswith("dpkg-deb -x ") and calls[3].endswith("/x")
    assert not (root / "debian" / "stale").exists()
    written = data.read_idx(tmp_path / "src" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte.gz")
    assert torch.equal(data.load(DataCfg("fashion-mnist"), root=root).x_test, torch.from_numpy(written[:, None].copy()))
    (tmp_path / "calls").unlink()
    (tmp_path / "fresh").touch()  # apt's lists are fresh: no update
    data._fetch_debian_fashion(tmp_path / "again")
    again = (tmp_path / "calls").read_text().splitlines()
    assert again[0] == "apt-get download dataset-fashion-mnist" and again[1].startswith("dpkg-deb -x ")
    assert len(again) == 2 and data.load(DataCfg("fashion-mnist"), root=tmp_path / "again").x_test.shape[0] == 20


def test_fetch_says_what_it_did(tmp_path, monkeypatch, offline):
    import torchvision.datasets as tvd
    logged = []
    assert data.fetch("digits", tmp_path / "d" / "e", log=logged.append) == tmp_path / "d" / "e"
    assert (tmp_path / "d" / "e").is_dir()
    fake_fashion(tmp_path / "f")
    assert data.fetch("fashion-mnist", tmp_path / "f", log=logged.append) == tmp_path / "f"  # no download tried
    made = []
    monkeypatch.setattr(tvd, "CIFAR100", lambda root, download, **kw: made.append((root, download, kw)))
    assert data.fetch("cifar100", tmp_path / "c", log=logged.append) == tmp_path / "c"
    assert made == [(str(tmp_path / "c"), True, {"train": True}), (str(tmp_path / "c"), True, {"train": False})]
    assert logged == ["digits ship inside scikit-learn; nothing to fetch",
                      f"Fashion-MNIST already present under {tmp_path / 'f'}",
                      f"cifar100 downloaded by torchvision into {tmp_path / 'c'}"]
    with pytest.raises(data.DatasetMissing) as e:
        data.fetch("cifar10", tmp_path / "c", log=logged.append)
    assert str(e.value) == f"could not download cifar10 into {tmp_path / 'c'}: no internet"
    monkeypatch.setattr(tvd, "FashionMNIST", lambda root, download, **kw: made.append((root, download, kw)))
    made.clear()
    assert data.fetch("fashion-mnist", tmp_path / "g", log=logged.append) == tmp_path / "g"
    assert made == [(str(tmp_path / "g"), True, {"train": True}), (str(tmp_path / "g"), True, {"train": False})]
    with pytest.raises(ConfigError, match=r"^unknown dataset 'cifar'; allowed: digits, fashion-mnist, cifar10, "):
        data.fetch("cifar", tmp_path)
    monkeypatch.setenv("RTD_DATA", str(tmp_path / "default"))
    assert data.fetch("digits", log=logged.append) == tmp_path / "default"
