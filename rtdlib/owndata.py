"""Datasets given by path: a `.npz` file or an ImageFolder directory, checked, split and fingerprinted.

`.npz` keys: `x_train`, `y_train`, `x_test`, `y_test`, or `x` and `y` for a fixed split (seed 0,
stratified, TEST_FRACTION of every class held out). Images are uint8 of shape (N, H, W) or (N, H, W, C),
labels integers 0..C-1. An ImageFolder directory holds `train/<class>/*` and `test/<class>/*` (or `val/`),
or `<class>/*` for the same fixed split; classes are the sorted folder names of the train split.

A dataset's identity is a hash of the arrays the experiments see (so the same images in a compressed
and an uncompressed .npz, or at two paths, are one dataset). It is computed once per content and
cached by path and file sizes and modification times, in memory and in the user's cache folder.
"""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError

TEST_FRACTION = 0.2
SPLIT_SEED = 0
NPZ_KEYS = (("x_train", "y_train", "x_test", "y_test"), ("x", "y"))
CACHE_VERSION = 1  # bump when the checks or the hashed arrays change: cached fingerprints are then recomputed
GREY_MODES = ("1", "L", "LA")
EIGHT_BIT_MODES = GREY_MODES + ("P", "RGB", "RGBA", "CMYK", "YCbCr")


class DatasetError(ConfigError):
    """A dataset given by path that cannot be used; the message names the file, the value and what is allowed."""


@dataclass(frozen=True)
class Splits:
    x_train: np.ndarray  # (N, C, H, W) uint8
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    def digest(self) -> str:
        h = hashlib.sha256()
        for name in ("x_train", "y_train", "x_test", "y_test"):
            a = np.ascontiguousarray(getattr(self, name))
            h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
            h.update(a.data)
        return h.hexdigest()[:16]


def is_dataset_path(path: Path) -> bool:
    return path.is_dir() or (path.is_file() and path.suffix == ".npz")


# ---------------------------------------------------------------- reading and checking

def read(path: Path) -> Splits:
    """The checked train/test arrays of a .npz file or ImageFolder directory (DatasetError if unusable)."""
    return _read_cached(str(path), _signature(path, files=True))


@functools.lru_cache(maxsize=2)  # the fingerprint and the loader of one process read the data once
def _read_cached(path: str, signature: str) -> Splits:
    p = Path(path)
    splits = _read_folder(p) if p.is_dir() else _read_npz(p)
    check(splits, p)
    return splits


def _read_npz(path: Path) -> Splits:
    if not zipfile.is_zipfile(path):  # e.g. a text file, or a copy cut short (its zip directory is at the end)
        raise DatasetError(f"{path} is not a .npz archive (a complete zip of .npy arrays, as np.savez writes it)")
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            given = next((names for names in NPZ_KEYS if set(names) <= keys), None)
            if given is None:
                raise DatasetError(f"{path} has arrays {sorted(keys)}; expected x_train, y_train, x_test, y_test "
                                   f"(given splits) or x, y (split {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} here)")
            if len(given) == 2 and {"x_train", "x_test"} & keys:
                raise DatasetError(f"{path} has both x/y and split arrays {sorted(keys)}; keep one of the two layouts")
            arrays = {k: f[k] for k in given}
    except ValueError as e:
        if "allow_pickle" in str(e):  # object arrays: never unpickled, as the file may come from anyone
            raise DatasetError(f"{path} holds object arrays; allowed: numeric arrays (uint8 images, integer "
                               f"labels)") from None
        raise DatasetError(f"{path} is a damaged .npz archive: {e}") from None
    except (zipfile.BadZipFile, EOFError, zlib.error) as e:  # a member cut short or corrupted
        raise DatasetError(f"{path} is a damaged .npz archive ({type(e).__name__}: {e})") from None
    except OSError as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    for k, a in arrays.items():
        arrays[k] = _images(a, path, k) if k.startswith("x") else _labels(a, path, k)
    if "x" in arrays:
        _same_length(arrays["x"], arrays["y"], path, "")
        return _split(arrays["x"], arrays["y"], ())
    for s in ("train", "test"):
        _same_length(arrays[f"x_{s}"], arrays[f"y_{s}"], path, f"_{s}")
    return Splits(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], ())


def _images(a: np.ndarray, path, key) -> np.ndarray:
    """(N, H, W[, C]) uint8 -> (N, C, H, W)."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise DatasetError(f"{path}: {key} has {int((~np.isfinite(a)).sum())} non-finite values; "
                           f"images must be uint8 in 0..255")
    if a.dtype != np.uint8:
        hint = " (from [0, 1] floats: (x * 255).round().astype(np.uint8))" if a.dtype.kind == "f" else ""
        raise DatasetError(f"{path}: {key} has dtype {a.dtype}; images must be uint8 in 0..255{hint}")
    if a.ndim not in (3, 4) or (a.ndim == 4 and not 1 <= a.shape[-1] <= 4):
        raise DatasetError(f"{path}: {key} has shape {a.shape}; allowed: (N, H, W) or (N, H, W, C) with C in 1..4 "
                           f"(channels last)")
    return np.ascontiguousarray(a[:, None] if a.ndim == 3 else a.transpose(0, 3, 1, 2))


def _labels(a: np.ndarray, path, key) -> np.ndarray:
    if a.ndim != 1:
        raise DatasetError(f"{path}: {key} has shape {a.shape}; labels must be one integer per image, shape (N,)")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise DatasetError(f"{path}: {key} has {int((~np.isfinite(a)).sum())} non-finite labels; "
                               f"allowed: integers 0..C-1")
        if (a != np.round(a)).any():
            raise DatasetError(f"{path}: {key} has non-integer labels, e.g. {a[a != np.round(a)][0]}; "
                               f"allowed: integers 0..C-1")
    elif a.dtype.kind not in "iu":
        raise DatasetError(f"{path}: {key} has dtype {a.dtype}; labels must be integers 0..C-1")
    return a.astype(np.int64)


def _same_length(x, y, path, suffix):
    if len(x) != len(y):
        raise DatasetError(f"{path}: x{suffix} has {len(x)} images but y{suffix} has {len(y)} labels")


def _split(x: np.ndarray, y: np.ndarray, classes) -> Splits:
    """The fixed stratified split: TEST_FRACTION of every class (rounded) to test, in the original order."""
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        test[rng.permutation(idx)[:int(round(len(idx) * TEST_FRACTION))]] = True
    return Splits(x[~test], y[~test], x[test], y[test], tuple(classes))


def _read_folder(root: Path) -> Splits:
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    split = (root / "train").is_dir()
    if split and test_dir is None:
        raise DatasetError(f"{root} has train/ but no test/ or val/; give both, or put the class folders directly "
                           f"in {root} for a {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} split")

    def items(folder, class_to_idx):
        try:
            return make_dataset(str(folder), class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True)
        except FileNotFoundError as e:
            raise DatasetError(f"{folder}: {e}") from None

    try:
        classes, class_to_idx = find_classes(str(root / "train" if split else root))
    except FileNotFoundError:
        raise DatasetError(f"{root} holds no class folders; expected <class>/<image> or train/<class>/<image> "
                           f"and test/<class>/<image>") from None
    train = items(root / "train" if split else root, class_to_idx)
    if not split:
        x, y = _decode(train, root)
        return _split(x, y, classes)
    test_classes, _ = find_classes(str(test_dir)) if any(p.is_dir() for p in test_dir.iterdir()) else ([], {})
    unknown = sorted(set(test_classes) - set(classes))
    if unknown:
        raise DatasetError(f"{test_dir} has classes {unknown} that {root / 'train'} lacks; "
                           f"allowed: the train classes {list(classes)}")
    test = items(test_dir, {c: class_to_idx[c] for c in test_classes})
    (x_tr, y_tr), (x_te, y_te) = _decode_both(train, test, root)
    return Splits(x_tr, y_tr, x_te, y_te, tuple(classes))


def _decode_both(train, test, root):
    x, y = _decode(train + test, root)
    n = len(train)
    return (x[:n], y[:n]), (x[n:], y[n:])


def _decode(items, root: Path):
    """Images of one size and 8-bit mode -> (N, C, H, W) uint8; greyscale unless any image has colour."""
    from PIL import Image, UnidentifiedImageError
    if not items:
        return np.zeros((0, 1, 1, 1), np.uint8), np.zeros(0, np.int64)
    sizes, modes = {}, set()
    for path, _ in items:
        try:
            with Image.open(path) as im:
                sizes.setdefault(im.size, []).append(path)
                if im.mode not in EIGHT_BIT_MODES:
                    raise DatasetError(f"{path} has image mode {im.mode}; allowed: 8-bit modes {', '.join(EIGHT_BIT_MODES)}")
                modes.add(im.mode)
        except (UnidentifiedImageError, OSError) as e:
            raise DatasetError(f"cannot read image {path}: {e}") from None
    if len(sizes) > 1:
        (common, _), (other, paths) = sorted(sizes.items(), key=lambda kv: -len(kv[1]))[:2]
        raise DatasetError(f"images of mixed sizes in {root}: {len(sizes[common])} of {common[0]}x{common[1]}, "
                           f"{len(paths)} of {other[0]}x{other[1]} (e.g. {paths[0]}); allowed: one size for all "
                           f"images (resize them first)")
    mode = "L" if modes <= set(GREY_MODES) else "RGB"
    xs = []
    for path, _ in items:
        with Image.open(path) as im:
            a = np.asarray(im.convert(mode))
        xs.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    return np.stack(xs), np.array([c for _, c in items], dtype=np.int64)


def check(s: Splits, path) -> None:
    """Non-empty splits, >= 2 classes labelled 0..C-1 in train, test classes seen in train, one image shape,
    no constant channel (its normalization would divide by zero)."""
    for split in ("train", "test"):
        if len(getattr(s, f"y_{split}")) == 0:
            raise DatasetError(f"{path}: the {split} split is empty; allowed: at least one image per split")
    present = np.unique(s.y_train)
    c = len(present)
    if c < 2:
        raise DatasetError(f"{path}: the train split has {c} class (label {present.tolist()}); allowed: at least "
                           f"2 classes (is the label array the right one?)")
    outside = present[(present < 0) | (present >= c)]
    if len(outside):
        raise DatasetError(f"{path}: train labels {outside[:5].tolist()} are outside 0..{c - 1}; allowed: the "
                           f"{c} classes numbered 0..{c - 1} (relabel with np.unique(y, return_inverse=True))")
    unseen = np.setdiff1d(np.unique(s.y_test), present)
    if len(unseen):
        raise DatasetError(f"{path}: test labels {unseen[:5].tolist()} never occur in train; allowed: the train "
                           f"classes 0..{c - 1}")
    if s.x_train.shape[1:] != s.x_test.shape[1:]:
        raise DatasetError(f"{path}: train images are {_shape(s.x_train)} but test images {_shape(s.x_test)}; "
                           f"allowed: one image size and channel count for both splits")
    mean, std = channel_stats(s.x_train)
    flat = [i for i, v in enumerate(std) if v == 0]
    if flat:
        raise DatasetError(f"{path}: channel {flat[0]} of the train images is constant ({mean[flat[0]] * 255:.0f}); "
                           f"allowed: images that vary (normalization divides by the channel's std)")


def _shape(x) -> str:
    return f"{x.shape[2]}x{x.shape[3]} with {x.shape[1]} channel(s)"


def channel_stats(x) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images (N, C, H, W) in [0, 1] units, exact from 256-bin histograms."""
    x = np.asarray(x)
    levels = np.arange(256) / 255.0
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = np.bincount(x[:, c].ravel(), minlength=256)
        n = counts.sum()
        m = float(counts @ levels / n)
        means.append(round(m, 6))
        stds.append(round(float(np.sqrt(max(counts @ (levels - m) ** 2 / n, 0.0))), 6))
    return tuple(means), tuple(stds)


# ---------------------------------------------------------------- fingerprints

_FINGERPRINTS: dict[tuple[str, str], str] = {}


def fingerprint(path: Path) -> str:
    """The content hash of a dataset given by path; reads (and checks) the data only when its files changed.

    In this process a directory is re-read when a folder in it changes (files added, removed or renamed);
    a new process compares every file's size and modification time.
    """
    quick = (str(path), _signature(path, files=False))
    if quick not in _FINGERPRINTS:
        full = _signature(path, files=True)
        cached = _cache_file(str(path), full)
        try:
            found = cached.read_text().strip()
        except OSError:
            found = _read_cached(str(path), full).digest()
            _write_quietly(cached, found)
        _FINGERPRINTS[quick] = found
    return _FINGERPRINTS[quick]


def _signature(path: Path, files: bool) -> str:
    """Sizes and modification times: of the file, or of a directory's folders (and, with `files`, its files)."""
    if not path.is_dir():
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    h = hashlib.sha256()
    for here, dirs, names in os.walk(path):
        dirs.sort()
        h.update(f"{os.path.relpath(here, path)}:{os.stat(here).st_mtime_ns}\n".encode())
        for name in sorted(names) if files else ():
            st = os.stat(os.path.join(here, name))
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rtdlib" / "fingerprints"


def _cache_file(path: str, signature: str) -> Path:
    return cache_dir() / hashlib.sha256(f"{CACHE_VERSION}|{path}|{signature}".encode()).hexdigest()[:32]


def _write_quietly(target: Path, text: str) -> None:
    """Best effort: a read-only home only costs recomputing the hash in the next process."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".fp-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError:
        pass
