"""Datasets as device-resident uint8 tensors, seeded batching and on-the-fly normalization.

Everything the small experiments need fits in memory, so a dataset is four tensors; batches are
index slices of a seeded permutation (no DataLoader workers, no per-sample Python).
"""
from __future__ import annotations

import functools
import gzip
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import owndata
from .errors import ConfigError, check_choice

# built-in names; any other name is a path (owndata: a .npz file or an ImageFolder directory)
DATASETS = ("digits", "fashion-mnist", "cifar10", "cifar100", "stl10", "tiny-imagenet", "mnist", "kmnist", "svhn",
            "usps")

# per-channel mean/std of the train split in [0, 1] units (digits and Fashion-MNIST measured here); datasets
# without an entry (the later torchvision ones, datasets by path) are measured on their train split when loaded
STATS = {
    "digits": ((0.3070,), (0.3766,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "stl10": ((0.4467, 0.4398, 0.4066), (0.2603, 0.2566, 0.2713)),
    "tiny-imagenet": ((0.4802, 0.4481, 0.3975), (0.2770, 0.2691, 0.2821)),
}
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # where dataset-fashion-mnist installs


class DatasetMissing(FileNotFoundError):
    """A dataset's files are absent; the message says where we looked and how to fetch them."""


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: torch.Tensor  # (N, C, H, W) uint8, or float32 already in normalized units (noise)
    y_train: torch.Tensor  # (N,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    stats: tuple[tuple[float, ...], tuple[float, ...]] | None = None  # (mean, std) per channel; None: STATS[name]

    def __post_init__(self):
        if self.stats is None:
            object.__setattr__(self, "stats", STATS.get(self.name) or owndata.channel_stats(self.x_train))

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    def to(self, device) -> "Dataset":
        return replace(self, **{k: getattr(self, k).to(device)
                                for k in ("x_train", "y_train", "x_test", "y_test")})

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> float32 standardized with the dataset's statistics."""
        if x.dtype != torch.uint8:
            return x.float()
        mean, std = (torch.tensor(s, device=x.device).view(1, -1, 1, 1) for s in self.stats)
        return (x.float() / 255.0 - mean) / std


def data_dir() -> Path:
    from .paths import project_root
    return Path(os.environ.get("RTD_DATA", project_root() / "data")).resolve()


def dataset_path(name) -> Path:
    """Where a dataset given by path lives: relative to the current directory if it exists there, else to the
    data directory (one rule for `distill --data` and `run -p dataset=`; the runner makes a path that exists
    in the user's directory absolute, as the kernel runs in notebooks/)."""
    path = Path(name).expanduser()
    if not path.is_absolute() and not path.exists():
        path = data_dir() / path
    path = path.resolve()
    if not path.exists():
        raise ConfigError(f"unknown dataset {str(name)!r}; allowed: {', '.join(DATASETS)}, or a .npz file or an "
                          f"ImageFolder directory (nothing at {path})")
    if not owndata.is_dataset_path(path):
        raise ConfigError(f"dataset {str(name)!r} is neither a .npz file nor an ImageFolder directory ({path})")
    return path


def batch_indices(n: int, batch_size: int, seed: int, epoch: int, device="cpu", drop_last=True):
    """Index batches of one epoch, from a permutation that depends only on (seed, epoch)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(n, generator=g).to(device)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    return [perm[i:i + batch_size] for i in range(0, stop, batch_size)]


def load(cfg, device="cpu", root: Path | None = None) -> Dataset:
    """Load the dataset a DataCfg describes (subsets, resizing, noise) onto `device`.

    Kept in memory per process (a sweep worker runs many configs on the same data; decoding and
    resizing Fashion-MNIST costs ~0.5 s each time). Callers must not modify the tensors in place.
    """
    return _load(cfg, str(torch.device(device)), Path(root).resolve() if root else data_dir().resolve())


@functools.lru_cache(maxsize=8)
def _load(cfg, device: str, root: Path) -> Dataset:
    ds = _from_path(cfg) if cfg.fingerprint else _LOADERS[cfg.name](root)
    g = torch.Generator().manual_seed(cfg.subset_seed)
    ds = replace(ds, **_subset(ds.x_train, ds.y_train, cfg.train_size, g, "train"),
                 **_subset(ds.x_test, ds.y_test, cfg.test_size, g, "test"))
    if cfg.image_size and cfg.image_size != ds.shape[-1]:
        ds = replace(ds, x_train=resize(ds.x_train, cfg.image_size), x_test=resize(ds.x_test, cfg.image_size))
    if cfg.noise:
        ds = replace(ds, x_train=gaussian_noise(len(ds.x_train), ds.shape, seed=cfg.subset_seed))
    return ds.to(device)


def _from_path(cfg) -> Dataset:
    path = Path(cfg.name)
    if not owndata.is_dataset_path(path):
        raise DatasetMissing(f"dataset {path} is gone (content hash {cfg.fingerprint} in the config)")
    now = owndata.fingerprint(path)
    if now != cfg.fingerprint:  # e.g. edited between planning a sweep and a worker running it
        raise owndata.DatasetError(f"dataset {path} changed since its config was made (content hash {now}, "
                                   f"config {cfg.fingerprint}); rebuild the config to use the new data")
    s = owndata.read(path)
    return Dataset(str(path), *(torch.from_numpy(a) for a in (s.x_train, s.y_train, s.x_test, s.y_test)),
                   int(s.y_train.max()) + 1)


def _subset(x, y, size, g, split):
    if size is None or size >= len(x):
        return {f"x_{split}": x, f"y_{split}": y}
    idx = torch.randperm(len(x), generator=g)[:size].sort().values
    return {f"x_{split}": x[idx], f"y_{split}": y[idx]}


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    out = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.round().clamp(0, 255).to(torch.uint8)


def gaussian_noise(n: int, shape, seed: int = 0) -> torch.Tensor:
    """Standard-normal inputs in normalized units (what a normalized image batch looks like)."""
    g = torch.Generator().manual_seed(seed + 7_919)
    return torch.randn((n, *shape), generator=g)


# ---------------------------------------------------------------- loaders

def load_digits(root=None) -> Dataset:
    from sklearn.datasets import load_digits as sk_digits
    d = sk_digits()
    x = torch.from_numpy(np.round(d.images * 255 / 16).astype(np.uint8)).unsqueeze(1)
    y = torch.from_numpy(d.target.astype(np.int64))
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    n_train = 1_297  # fixed split: 1297 train, 500 test
    tr, te = perm[:n_train].sort().values, perm[n_train:].sort().values
    return Dataset("digits", x[tr], y[tr], x[te], y[te], 10)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic, dims, big-endian sizes, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path} is not a uint8 IDX file (magic {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: {data.size} bytes of data for shape {dims}")
    return data.reshape(dims)


def fashion_mnist_dirs(root: Path) -> list[Path]:
    return [root / "FashionMNIST" / "raw", root / "fashion-mnist", DEBIAN_FASHION_DIR,
            root / "debian" / DEBIAN_FASHION_DIR.relative_to("/")]


def _find_idx(dirs, stem):
    for d in dirs:
        for name in (stem, stem + ".gz"):
            if (d / name).is_file():
                return d / name
    return None


def _fashion_paths(root: Path) -> dict[str, list[Path]]:
    dirs = fashion_mnist_dirs(root)
    out = {split: [_find_idx(dirs, img), _find_idx(dirs, lab)] for split, (img, lab) in FASHION_FILES.items()}
    if any(None in paths for paths in out.values()):
        raise DatasetMissing(
            f"Fashion-MNIST not found (looked in {', '.join(map(str, dirs))}); "
            f"fetch it with `make data` or `python -m rtdlib data fetch fashion-mnist`")
    return out


def load_fashion_mnist(root: Path) -> Dataset:
    arrays = {split: (torch.from_numpy(read_idx(img).copy()).unsqueeze(1),
                      torch.from_numpy(read_idx(lab).astype(np.int64)))
              for split, (img, lab) in _fashion_paths(root).items()}
    return Dataset("fashion-mnist", *arrays["train"], *arrays["test"], 10)


TORCHVISION_DIRS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python", "stl10": "stl10_binary",
                    "tiny-imagenet": "tiny-imagenet-200", "mnist": "MNIST/raw", "kmnist": "KMNIST/raw",
                    "svhn": "test_32x32.mat", "usps": "usps.t.bz2"}  # what torchvision's download leaves in data/
# name -> (torchvision class, constructor arguments of the train and the test split)
TORCHVISION_CLASSES = {"cifar10": ("CIFAR10", {"train": True}, {"train": False}),
                       "cifar100": ("CIFAR100", {"train": True}, {"train": False}),
                       "stl10": ("STL10", {"split": "train"}, {"split": "test"}),
                       "mnist": ("MNIST", {"train": True}, {"train": False}),
                       "kmnist": ("KMNIST", {"train": True}, {"train": False}),
                       "svhn": ("SVHN", {"split": "train"}, {"split": "test"}),
                       "usps": ("USPS", {"train": True}, {"train": False})}


def _torchvision_dir(name: str, root: Path) -> Path:
    where = root / TORCHVISION_DIRS[name]
    if not where.exists():
        raise DatasetMissing(f"{name} not found at {where}; on a machine with internet run "
                             f"`python -m rtdlib data fetch {name}` (`make data PROFILE=paper`: every dataset "
                             f"of the paper profile)")
    return where


def require(name: str, root: Path | None = None) -> None:
    """Raise DatasetMissing (where we looked, how to fetch) unless dataset `name` is on disk; reads nothing."""
    root = Path(root) if root else data_dir()
    if name == "fashion-mnist":
        _fashion_paths(root)
    elif name in TORCHVISION_DIRS:
        _torchvision_dir(name, root)


def _torchvision(name: str, root: Path) -> Dataset:
    import torchvision.datasets as tvd
    where = _torchvision_dir(name, root)
    if name == "tiny-imagenet":
        return _tiny_imagenet(where)
    cls, *splits = TORCHVISION_CLASSES[name]
    parts = []
    for kw in splits:
        d = getattr(tvd, cls)(str(root), download=False, **kw)
        x = np.asarray(d.data)  # NCHW for STL10 and SVHN, NHW for the MNISTs and USPS, NHWC for CIFAR
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2) if cls.startswith("CIFAR") else x
        y = d.labels if hasattr(d, "labels") else d.targets
        parts += [torch.from_numpy(np.ascontiguousarray(x)), torch.as_tensor(np.asarray(y), dtype=torch.int64)]
    return Dataset(name, *parts, int(max(parts[1].max(), parts[3].max())) + 1)


def _tiny_imagenet(where: Path) -> Dataset:
    """Tiny ImageNet in its distributed folder layout; val/ serves as the test split."""
    from PIL import Image
    wnids = sorted((where / "wnids.txt").read_text().split())
    cls = {w: i for i, w in enumerate(wnids)}

    def stack(items):
        xs = [np.asarray(Image.open(p).convert("RGB")).transpose(2, 0, 1) for p, _ in items]
        return torch.from_numpy(np.stack(xs)), torch.tensor([c for _, c in items])

    train = [(p, cls[w]) for w in wnids for p in sorted((where / "train" / w / "images").glob("*.JPEG"))]
    rows = [line.split("\t")[:2] for line in (where / "val" / "val_annotations.txt").read_text().splitlines()]
    test = [(where / "val" / "images" / f, cls[w]) for f, w in rows]
    return Dataset("tiny-imagenet", *stack(train), *stack(test), 200)


_LOADERS = {"digits": load_digits, "fashion-mnist": load_fashion_mnist,
            **{n: (lambda root, n=n: _torchvision(n, root)) for n in TORCHVISION_DIRS}}


# ---------------------------------------------------------------- fetching

def fetch(name: str, root: Path | None = None, log=print) -> Path:
    """Download a dataset into the data directory through torchvision, Fashion-MNIST from Debian's package as
    fallback (the paper's datasets come from their archives through rtdlib.downloads.fetch_datasets, which
    calls this for the others)."""
    check_choice("dataset", name, DATASETS)
    root = Path(root) if root else data_dir()
    root.mkdir(parents=True, exist_ok=True)
    if name == "digits":
        log("digits ship inside scikit-learn; nothing to fetch")
        return root
    if name == "fashion-mnist":
        try:
            load_fashion_mnist(root)
            log(f"Fashion-MNIST already present under {root}")
            return root
        except DatasetMissing:
            pass
    import torchvision.datasets as tvd
    cls, *splits = TORCHVISION_CLASSES.get(name) or ("FashionMNIST", {"train": True}, {"train": False})
    try:
        for kw in splits:
            getattr(tvd, cls)(str(root), download=True, **kw)
        log(f"{name} downloaded by torchvision into {root}")
        return root
    except Exception as e:  # no internet: fall through to Debian for Fashion-MNIST where apt-get exists
        if name != "fashion-mnist":
            raise DatasetMissing(f"could not download {name} into {root}: {e}") from e
        if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
            raise DatasetMissing(
                f"could not download Fashion-MNIST ({type(e).__name__}: {e}) and there is no apt-get here for "
                f"Debian's package; check the internet connection, or put the four files "
                f"{', '.join(f + '.gz' for pair in FASHION_FILES.values() for f in pair)} (from "
                f"github.com/zalandoresearch/fashion-mnist) into {root / 'FashionMNIST' / 'raw'}") from e
        log(f"torchvision download failed ({type(e).__name__}); trying Debian's dataset-fashion-mnist")
    _fetch_debian_fashion(root)
    load_fashion_mnist(root)  # verify
    log(f"Fashion-MNIST extracted from Debian's package into {root / 'debian'}")
    return root


def _fetch_debian_fashion(root: Path) -> None:
    """apt-get download + dpkg-deb -x: no installation, no root needed beyond apt's cache."""
    with tempfile.TemporaryDirectory() as tmp:
        def run(*cmd):
            subprocess.run(cmd, cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            run("apt-get", "download", "dataset-fashion-mnist")
        except subprocess.CalledProcessError:
            run("apt-get", "update", "-qq")
            run("apt-get", "download", "dataset-fashion-mnist")
        deb = next(Path(tmp).glob("dataset-fashion-mnist*.deb"))
        staging = Path(tmp) / "x"
        run("dpkg-deb", "-x", str(deb), str(staging))
        target = root / "debian"
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), str(target))  # whole tree appears at once: no half-extracted data
