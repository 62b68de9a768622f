"""Fetching every dataset a profile reads: the public archives (URL, size, md5), resumable downloads with
checksums, extraction into the layouts `rtdlib.data` reads, and what to put where when there is no internet.

`python -m rtdlib data fetch paper` (or `make data PROFILE=paper`) states the total download and disk size
first and what is already present, then fetches the rest. A download goes to `<archive>.part` and resumes
from its size (HTTP Range); the archive is used only once its size and md5 match, unpacked next to the data
directory and moved into place whole, then deleted (the extracted files are what the loaders read).
"""
from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import data


@dataclass(frozen=True)
class Archive:
    url: str
    size: int           # bytes of the archive
    md5: str
    folder: str         # what it unpacks to under the data directory (the loaders' layout)
    files: tuple        # files inside `folder` that must be there for the dataset to count as present
    unpacked: int       # bytes once unpacked (the image and label arrays; JPEGs about their zipped size)


# CIFAR and STL-10: torchvision's URLs and checksums (tests/test_downloads.py checks they still agree); Tiny
# ImageNet: its public zip. STL-10's archive holds the 100,000 unlabeled images too (2.8 GB unpacked), which
# torchvision's integrity check of the labelled splits requires.
ARCHIVES = {
    "cifar10": Archive("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", 170_498_071,
                       "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py",
                       ("batches.meta", "test_batch", *(f"data_batch_{i}" for i in range(1, 6))), 60_000 * 3_073),
    "cifar100": Archive("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", 169_001_437,
                        "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python", ("meta", "train", "test"),
                        60_000 * 3_074),
    "stl10": Archive("http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz", 2_640_397_119,
                     "91f7769df0f17e558f3565bffb0c7dfb", "stl10_binary",
                     ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "unlabeled_X.bin"),
                     113_000 * 27_648 + 13_000),
    "tiny-imagenet": Archive("http://cs231n.stanford.edu/tiny-imagenet-200.zip", 248_100_043,
                             "90528d7ca1a48142e341f4ef8d21d0de", "tiny-imagenet-200",
                             ("wnids.txt", "val/val_annotations.txt"), 248_100_043),
}
CHUNK = 1 << 20


def present(name: str, root: Path) -> bool:
    a = ARCHIVES[name]
    return all((root / a.folder / f).is_file() for f in a.files)


def gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"


def fetch_datasets(names, root: Path | None = None, log=print) -> None:
    """Fetch the datasets `names` that are missing, stating sizes first; offline, one line per missing archive
    saying which file to put where."""
    root = Path(root) if root else data.data_dir()
    for name in (n for n in names if n not in ARCHIVES):
        data.fetch(name, root, log)  # Fashion-MNIST, digits, ...: their own fetchers
    missing = [n for n in names if n in ARCHIVES and not present(n, root)]
    for n in names:
        if n in ARCHIVES and n not in missing:
            log(f"  {n}: present in {root / ARCHIVES[n].folder}")
    if not missing:
        return
    todo = [ARCHIVES[n] for n in missing]
    log(f"to fetch: {', '.join(missing)}: download {gb(sum(a.size for a in todo))}, "
        f"{gb(sum(a.unpacked for a in todo))} on disk once unpacked (archives are deleted after unpacking; "
        f"peak {gb(max(a.size for a in todo) + sum(a.unpacked for a in todo))}) into {root}")
    offline = []
    for n in missing:
        try:
            fetch_archive(n, root, log)
        except urllib.error.URLError as e:
            offline.append((n, e))
    if offline:
        for n, _ in offline:
            a = ARCHIVES[n]
            log(f"  missing {n}: put {a.url.rsplit('/', 1)[1]} ({a.size:,} bytes, md5 {a.md5}, from {a.url}) "
                f"at {root / a.url.rsplit('/', 1)[1]}, then run this again to check and unpack it")
        raise data.DatasetMissing(f"could not download {', '.join(n for n, _ in offline)} ({offline[0][1]}); "
                                  f"the lines above say which file to put where")


def fetch_archive(name: str, root: Path, log=print) -> None:
    """Download (resuming a .part), check size and md5, unpack `name` into root/<folder>, delete the archive."""
    a = ARCHIVES[name]
    root.mkdir(parents=True, exist_ok=True)
    archive = root / a.url.rsplit("/", 1)[1]
    if not (archive.is_file() and archive.stat().st_size == a.size):
        download(a, archive, log)
    digest = md5(archive)
    if digest != a.md5:
        archive.rename(archive.with_suffix(archive.suffix + ".bad"))
        raise data.DatasetMissing(f"{archive} has md5 {digest}, expected {a.md5} (kept as {archive.name}.bad); "
                                  f"run the fetch again to download it anew")
    log(f"  {name}: {archive.name} verified (md5 {a.md5}); unpacking")
    unpack(archive, root / a.folder)
    if not present(name, root):
        raise data.DatasetMissing(f"{archive.name} did not contain {', '.join(a.files)} under {a.folder}/")
    archive.unlink()
    log(f"  {name}: ready in {root / a.folder}")


def open_url(url: str, start: int):
    """A response reading `url` from byte `start`, and whether the server honoured the range."""
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    response = urllib.request.urlopen(request, timeout=60)
    return response, start > 0 and response.status == 206


def download(a: Archive, archive: Path, log=print) -> None:
    part = archive.with_suffix(archive.suffix + ".part")
    have = part.stat().st_size if part.is_file() else 0
    if have > a.size:  # not the archive this project knows: start over
        part.unlink()
        have = 0
    response, resumed = open_url(a.url, have)
    if have and not resumed:
        have = 0  # the server sends the whole file again
    log(f"  downloading {a.url} ({gb(a.size)}" + (f", resuming at {gb(have)})" if have else ")"))
    with response, open(part, "ab" if have else "wb") as f:
        while chunk := response.read(CHUNK):
            f.write(chunk)
    if part.stat().st_size != a.size:
        raise data.DatasetMissing(f"download of {a.url} stopped at {part.stat().st_size:,} of {a.size:,} bytes "
                                  f"({part}); run the fetch again to resume")
    part.rename(archive)


def md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def unpack(archive: Path, target: Path) -> None:
    """Extract next to `target` and move its folder into place whole (no half-unpacked dataset)."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, filter="data")
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(Path(tmp) / target.name), str(target))
