"""Fake CIFAR-10/100, STL-10 and Tiny ImageNet written in their real on-disk layouts (random pixels), for the
paper path's tests (tests/test_data.py writes SVHN's). torchvision checks the real files' md5 sums: `trust_fakes`
turns that check off, in this process (monkeypatch) or, through a sitecustomize.py on PYTHONPATH, in the
processes a test starts; nothing outside the tests ever does."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

SITECUSTOMIZE = """
import torchvision.datasets.cifar, torchvision.datasets.stl10, torchvision.datasets.svhn
torchvision.datasets.cifar.check_integrity = lambda *a, **k: True
torchvision.datasets.stl10.check_integrity = lambda *a, **k: True
torchvision.datasets.svhn.check_integrity = lambda *a, **k: True
"""


def trust_fakes(monkeypatch, folder: Path) -> dict:
    """Skip torchvision's md5 checks here and in child processes; returns the env for those children."""
    import os

    import torchvision.datasets.cifar
    import torchvision.datasets.stl10
    import torchvision.datasets.svhn
    for module in (torchvision.datasets.cifar, torchvision.datasets.stl10, torchvision.datasets.svhn):
        monkeypatch.setattr(module, "check_integrity", lambda *a, **k: True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


def pixels(rng, n, side):
    return rng.integers(0, 256, (n, 3, side, side), dtype=np.uint8)


def write_cifar(root: Path, classes: int = 10, n_train: int = 300, n_test: int = 100, seed: int = 0) -> None:
    """cifar-10-batches-py (five train batches, test_batch, batches.meta) or cifar-100-python (train, test, meta)."""
    rng = np.random.default_rng(seed)

    def batch(n):
        return {"data": pixels(rng, n, 32).reshape(n, 3072),
                ("labels" if classes == 10 else "fine_labels"): rng.integers(0, classes, n).tolist()}

    if classes == 10:
        folder, parts = root / "cifar-10-batches-py", np.array_split(np.arange(n_train), 5)
        files = {f"data_batch_{i + 1}": batch(len(p)) for i, p in enumerate(parts)} | {"test_batch": batch(n_test)}
        files["batches.meta"] = {"label_names": [f"c{i}" for i in range(10)]}
    else:
        folder = root / "cifar-100-python"
        files = {"train": batch(n_train), "test": batch(n_test),
                 "meta": {"fine_label_names": [f"c{i}" for i in range(classes)]}}
    folder.mkdir(parents=True, exist_ok=True)
    for name, obj in files.items():
        (folder / name).write_bytes(pickle.dumps(obj))


def write_stl10(root: Path, n_train: int = 300, n_test: int = 100, seed: int = 0) -> None:
    """stl10_binary: column-major 96x96 images as torchvision reads them, labels 1..10, an empty unlabeled_X.bin."""
    rng = np.random.default_rng(seed)
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        pixels(rng, n, 96).tofile(folder / f"{split}_X.bin")
        rng.integers(1, 11, n, dtype=np.uint8).tofile(folder / f"{split}_y.bin")
    (folder / "unlabeled_X.bin").write_bytes(b"")


def write_tiny_imagenet(root: Path, classes: int = 200, per_class: int = 2, n_val: int = 100, seed: int = 0) -> None:
    """tiny-imagenet-200: wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG with val_annotations.txt."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    folder = root / "tiny-imagenet-200"
    wnids = [f"n{i:08d}" for i in range(classes)]
    (folder / "val" / "images").mkdir(parents=True, exist_ok=True)
    (folder / "wnids.txt").write_text("\n".join(wnids) + "\n")

    def jpeg(path):
        Image.fromarray(pixels(rng, 1, 64)[0].transpose(1, 2, 0)).save(path, "JPEG")

    for w in wnids:
        (folder / "train" / w / "images").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            jpeg(folder / "train" / w / "images" / f"{w}_{i}.JPEG")
    rows = []
    for i in range(n_val):
        jpeg(folder / "val" / "images" / f"val_{i}.JPEG")
        rows.append(f"val_{i}.JPEG\t{wnids[i % classes]}\t0\t0\t63\t63")
    (folder / "val" / "val_annotations.txt").write_text("\n".join(rows) + "\n")


def write_all(root: Path) -> None:
    write_cifar(root, 10)
    write_cifar(root, 100, seed=1)
    write_stl10(root)
    write_tiny_imagenet(root)
