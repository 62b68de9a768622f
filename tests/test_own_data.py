"""Datasets by path (.npz, ImageFolder), their checks and store keys, the `distill` command, custom encoders."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rtdlib import data, models
from rtdlib.config import ConfigError, DataCfg, DistillCfg, ModelCfg, config_hash, from_dict, to_dict
from rtdlib.owndata import DatasetError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Fingerprint cache in tmp, so no test reads another's (or the user's) cached hashes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def tiny(n=60, classes=3, size=8, channels=None, seed=0):
    """Images whose mean brightness encodes the class (learnable by any probe)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    shape = (n, size, size) + ((channels,) if channels else ())
    x = rng.integers(0, 40, shape) + (y * 60).reshape((n,) + (1,) * (len(shape) - 1))
    return x.astype(np.uint8), y


def save(path, **arrays):
    np.savez(path, **arrays)
    return Path(path)


def test_npz_with_x_y_is_split_by_class_with_a_fixed_seed(tmp_path):
    x, y = tiny(100, classes=4, channels=3)
    ds = data.load(DataCfg(save(tmp_path / "a.npz", x=x, y=y)))
    assert ds.shape == (3, 8, 8) and ds.num_classes == 4 and ds.x_train.dtype == torch.uint8
    assert len(ds.x_test) == 20 and torch.bincount(ds.y_test).tolist() == [5, 5, 5, 5]  # 20% of every class
    pixels = np.concatenate([ds.x_train.numpy(), ds.x_test.numpy()]).transpose(0, 2, 3, 1)
    assert sorted(map(bytes, pixels)) == sorted(map(bytes, x))  # every image once, channels last -> first
    again = data.load(DataCfg(save(tmp_path / "b.npz", x=x, y=y)))
    assert torch.equal(ds.y_test, again.y_test) and torch.equal(ds.x_train, again.x_train)


def test_npz_with_given_splits_and_measured_normalization(tmp_path):
    (xtr, ytr), (xte, yte) = tiny(40), tiny(20, seed=1)
    ds = data.load(DataCfg(save(tmp_path / "s.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte),
                           train_size=30, image_size=16))
    assert ds.x_train.shape == (30, 1, 16, 16) and torch.equal(ds.y_test, torch.from_numpy(yte))
    mean, std = xtr.mean() / 255, xtr.std() / 255  # the full train split at its own size, not the subset
    assert ds.stats == ((pytest.approx(mean, abs=1e-6),), (pytest.approx(std, abs=1e-6),))
    z = data.load(DataCfg(tmp_path / "s.npz")).normalize(torch.from_numpy(xtr)[:, None])
    assert abs(z.mean().item()) < 1e-5 and abs(z.std(unbiased=False).item() - 1) < 1e-5


def write_folder(root, x, y, classes):
    from PIL import Image
    for i, (img, label) in enumerate(zip(x, y)):
        d = root / classes[label]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d / f"{i:03d}.png")


def test_image_folder_with_and_without_splits(tmp_path):
    x, y = tiny(30, channels=3)
    names = ["cat", "dog", "emu"]
    write_folder(tmp_path / "flat", x, y, names)
    (tmp_path / "flat" / ".DS_Store").write_bytes(b"\0")  # a Mac's litter is not a class
    ds = data.load(DataCfg(tmp_path / "flat"))
    assert ds.shape == (3, 8, 8) and ds.num_classes == 3 and len(ds.x_train) + len(ds.x_test) == 30
    write_folder(tmp_path / "split" / "train", x, y, names)
    write_folder(tmp_path / "split" / "test", x[:3], np.array([2, 2, 2]), names)  # one class only in test
    ds = data.load(DataCfg(tmp_path / "split"))
    assert len(ds.x_train) == 30 and ds.y_test.tolist() == [2, 2, 2]  # emu is class 2, as in train
    i = 7
    assert torch.equal(ds.x_train[ds.y_train == y[i]][sum(y[:i] == y[i])], torch.from_numpy(x[i]).permute(2, 0, 1))


def test_image_folder_and_npz_of_the_same_images_are_one_dataset(tmp_path):
    x, y = tiny(30)
    write_folder(tmp_path / "imgs", x, y, ["a", "b", "c"])
    order = np.argsort(y, kind="stable")  # ImageFolder lists images class by class
    npz = save(tmp_path / "same.npz", x=x[order], y=y[order])
    assert DataCfg(tmp_path / "imgs").fingerprint == DataCfg(npz).fingerprint


def test_store_keys_follow_the_content(tmp_path):
    x, y = tiny()
    a, b = save(tmp_path / "a.npz", x=x, y=y), save(tmp_path / "b.npz", x=x, y=(y + 1) % 3)
    np.savez_compressed(tmp_path / "a_copy.npz", x=x, y=y)
    key = lambda p: config_hash("distill", DistillCfg(data=DataCfg(p)))  # noqa: E731
    assert key(a) != key(b)  # different datasets never share an entry
    assert key(a) == key(tmp_path / "a_copy.npz")  # same arrays at another path (compressed): same entry
    cfg = DistillCfg(data=DataCfg(a))
    assert from_dict(DistillCfg, to_dict(cfg)) == cfg  # the stored config rebuilds to the same key
    save(a, x=x, y=(y + 2) % 3)  # the file changes: a new config gets a new key, the old one refuses to load
    assert key(a) not in (config_hash("distill", cfg), key(b))
    with pytest.raises(DatasetError, match="changed since its config was made"):
        data.load(cfg.data)
    fresh = DataCfg(a)
    assert data.load(fresh).name == str(a)  # a dataset by path is named by its path
    a.unlink()
    data._load.cache_clear()
    with pytest.raises(data.DatasetMissing) as e:
        data.load(fresh)
    assert str(e.value) == f"dataset {a} is gone (content hash {fresh.fingerprint} in the config)"


def test_built_in_keys_are_unchanged():
    """A built-in dataset's (and encoder's) key is what it was before datasets by path existed: the derived
    fields are None and stay out of the hash, so every stored result keeps its name."""
    import hashlib

    from rtdlib.config import SCHEMA_VERSION, canonical_json
    cfg = DistillCfg(data=DataCfg("fashion-mnist", 10), probe_data=DataCfg("digits"), precision="fp32")
    legacy = to_dict(cfg)  # also the stored config.json: without the derived fields
    assert "fingerprint" not in legacy["data"] | legacy["probe_data"] and "arch_source" not in legacy["model"]
    # earlier `added` fields, omitted at the values entries made before them ran with (precision: fp32)
    for name in ("precision", "probe_steps", "bias_weight_decay", "drop_last"):
        legacy.pop(name)
    legacy["probe"].pop("linear_optimizer")
    payload = {"kind": "distill", "schema": SCHEMA_VERSION, "config": legacy}
    assert config_hash("distill", cfg) == hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:16]


def test_fingerprint_is_computed_once(tmp_path, monkeypatch):
    from rtdlib import owndata
    x, y = tiny()
    path = save(tmp_path / "a.npz", x=x, y=y)
    first = DataCfg(path).fingerprint
    owndata._FINGERPRINTS.clear()
    owndata._read_cached.cache_clear()  # a new process: only the cache folder remains
    monkeypatch.setattr(owndata, "_read_npz", lambda p: pytest.fail("re-read an unchanged dataset"))
    assert DataCfg(path).fingerprint == first


def bad(tmp_path, **arrays):
    return lambda: data.load(DataCfg(save(tmp_path / "bad.npz", **arrays)))


X, Y = tiny()
X_NAN = X / 255.0
X_NAN[3, 2, 2] = np.nan


@pytest.mark.parametrize("arrays, message", [
    (dict(x=X, y=np.zeros(60, int)), r"train split has 1 class \(label \[0\]\); allowed: at least 2"),
    (dict(x=X, y=Y + 1), r"train labels \[3\] are outside 0..2"),
    (dict(x_train=X, y_train=Y % 2, x_test=X[:5], y_test=Y[:5]), r"test labels \[2\] never occur in train"),
    (dict(x_train=X, y_train=Y, x_test=tiny(size=9)[0], y_test=Y), r"train images are 8x8 .* test images 9x9"),
    (dict(x=X_NAN, y=Y), r"x has 1 non-finite values"),
    (dict(x=X, y=np.where(np.arange(60) == 5, np.nan, Y)), r"y has 1 non-finite labels"),
    (dict(x_train=X, y_train=Y, x_test=X[:0], y_test=Y[:0]), r"the test split is empty"),
    (dict(x=X.astype(np.float32), y=Y), r"x has dtype float32; images must be uint8"),
    (dict(x=X[:, None], y=Y), r"x has shape \(60, 1, 8, 8\); allowed: \(N, H, W\) or \(N, H, W, C\)"),
    (dict(x=X, y=np.eye(3)[Y]), r"y has shape \(60, 3\); labels must be one integer per image"),
    (dict(x=X, y=Y[:50]), r"x has 60 images but y has 50 labels"),
    (dict(images=X, labels=Y), r"has arrays \['images', 'labels'\]; expected x_train, y_train, x_test, y_test"),
    (dict(x=np.full_like(X, 7), y=Y), r"channel 0 of the train images is constant \(7\)"),
])
def test_each_check_is_one_line_naming_the_value(tmp_path, arrays, message):
    with pytest.raises(DatasetError, match=message) as e:
        bad(tmp_path, **arrays)()
    assert "\n" not in str(e.value) and "bad.npz" in str(e.value)


def test_image_folder_checks(tmp_path):
    from PIL import Image
    x, y = tiny(12)
    write_folder(tmp_path / "mixed", x, y, ["a", "b", "c"])
    Image.fromarray(np.zeros((9, 9), np.uint8)).save(tmp_path / "mixed" / "b" / "odd.png")
    with pytest.raises(DatasetError, match=r"mixed sizes .*: 12 of 8x8, 1 of 9x9 \(e.g. .*odd.png\)"):
        DataCfg(tmp_path / "mixed")
    write_folder(tmp_path / "split" / "train", x, y, ["a", "b", "c"])
    write_folder(tmp_path / "split" / "test", x[:2], np.array([0, 1]), ["a", "zebra"])
    with pytest.raises(DatasetError, match=r"has classes \['zebra'\] that .*train lacks"):
        DataCfg(tmp_path / "split")
    (tmp_path / "one" / "only").mkdir(parents=True)
    Image.fromarray(x[0]).save(tmp_path / "one" / "only" / "a.png")
    with pytest.raises(DatasetError, match="the test split is empty"):
        DataCfg(tmp_path / "one")


def test_names_and_paths_resolve(tmp_path, monkeypatch):
    monkeypatch.setenv("RTD_DATA", str(tmp_path))
    x, y = tiny()
    save(tmp_path / "mine.npz", x=x, y=y)
    elsewhere = tmp_path / "shell"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # one rule for a str (notebook parameter) and a Path (`distill --data`): the current directory if the path
    # exists there, else the data directory
    assert DataCfg("mine.npz").name == DataCfg(Path("mine.npz")).name == str(tmp_path / "mine.npz")
    save(elsewhere / "mine.npz", x=x, y=y)
    assert DataCfg("mine.npz").name == DataCfg(Path("mine.npz")).name == str(elsewhere / "mine.npz")
    with pytest.raises(ConfigError, match=r"unknown dataset 'nope'; allowed: digits, .* or a .npz file"):
        DataCfg("nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError) as e:
        DataCfg("notes.txt")
    assert str(e.value) == (f"dataset 'notes.txt' is neither a .npz file nor an ImageFolder directory "
                            f"({tmp_path / 'notes.txt'})")


# ---------------------------------------------------------------- custom encoders

ENCODER_MODULE = '''
from torch import nn

def tiny_cnn(in_channels, width=4):
    net = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1))
    net.feature_dim = width
    return net

def no_dim(in_channels):
    return nn.Conv2d(in_channels, 4, 3)
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_encoders.py").write_text(ENCODER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "my_encoders.py"
    sys.modules.pop("my_encoders", None)


def test_custom_encoder_by_import_path(user_module):
    cfg = ModelCfg("my_encoders:tiny_cnn", width=6, out_dim=16, hidden_dim=8, bottleneck_dim=4)
    net, same = (models.build(cfg, in_channels=3, seed=0) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), same.state_dict().values()))
    assert net.features(torch.zeros(2, 3, 8, 8)).shape == (2, 6)  # width passed, (N, d, 1, 1) flattened
    key = config_hash("model", cfg)
    user_module.write_text(ENCODER_MODULE + "\n# edited\n")  # the module's file enters the key
    assert config_hash("model", ModelCfg("my_encoders:tiny_cnn", width=6, out_dim=16, hidden_dim=8,
                                         bottleneck_dim=4)) != key


@pytest.mark.parametrize("arch, message", [
    ("no_such_module:f", r"cannot import no_such_module"),
    ("my_encoders:missing", r"module my_encoders \(.*my_encoders.py\) has no function missing"),
    ("my_encoders:", r"must be package.module:function"),
])
def test_custom_encoder_errors(user_module, arch, message):
    with pytest.raises(ConfigError, match=message):
        ModelCfg(arch)


def test_custom_encoder_without_feature_dim(user_module):
    with pytest.raises(ConfigError, match=r"returned Conv2d with feature_dim = None; allowed: an nn.Module"):
        models.build(ModelCfg("my_encoders:no_dim"), in_channels=1)


# ---------------------------------------------------------------- the command line

def test_distill_command_end_to_end(tmp_path, user_module):
    x, y = tiny(96, classes=3, size=8)
    save(tmp_path / "d.npz", x=x, y=y)
    env = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}", "RTD_RESULTS": str(tmp_path / "results"),
                       "RTD_PROGRESS": "0", "RTD_DEVICE": "cpu", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "rtdlib", "distill", "--data", "d.npz", "--arch", "my_encoders:tiny_cnn",
           "--epochs", "1", "--batch-size", "32", "--out-dim", "16", "--hidden-dim", "8", "--bottleneck-dim", "4"]
    first = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "computed on cpu" in first.stdout and "3 classes" in first.stdout
    header = next(line for line in first.stdout.splitlines() if line.startswith("probe  "))
    assert header.split()[1:] == ["input", "teacher", "teacher", "(BN", "recalibrated)", "student"]
    linear = next(line for line in first.stdout.splitlines() if line.startswith("linear "))
    assert len(linear.split()) == 5 and all(0 <= float(v) <= 100 for v in linear.split()[1:])
    entry = next(p for p in (tmp_path / "results" / "distill").iterdir() if p.is_dir())
    metrics = (entry / "metrics.json").read_text()
    assert '"normalization"' in metrics and (entry / "COMPLETE").exists()
    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "read from the store" in again.stdout and linear in again.stdout
    bad_run = subprocess.run(cmd[:5] + ["missing.npz"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert bad_run.returncode == 2 and bad_run.stderr.startswith("error: unknown dataset 'missing.npz'")
