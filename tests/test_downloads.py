"""`data fetch paper`: what it fetches, resuming, checksums, and what it says offline."""
import hashlib
import io
import tarfile
import urllib.error
from dataclasses import replace

import pytest

from fake_layouts import write_cifar
from rtdlib import data, downloads, plan


def test_archives_are_torchvisions():
    import torchvision.datasets as tvd
    for name, cls in (("cifar10", tvd.CIFAR10), ("cifar100", tvd.CIFAR100), ("stl10", tvd.STL10)):
        a = downloads.ARCHIVES[name]
        assert (a.url, a.md5, a.folder) == (cls.url, cls.tgz_md5, cls.base_folder)


def test_paper_profiles_read_the_four_datasets():
    paper = ["cifar10", "cifar100", "stl10", "tiny-imagenet"]
    assert plan.profile_datasets("paper") == plan.profile_datasets("paper-trial") == paper
    assert plan.profile_datasets("quick") == ["digits", "fashion-mnist"]


def offline(url, start):
    raise urllib.error.URLError("no route to host")


def test_offline_says_which_file_goes_where(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "open_url", offline)
    write_cifar(tmp_path, 10)  # CIFAR-10 already there
    lines = []
    with pytest.raises(data.DatasetMissing, match="could not download cifar100, stl10, tiny-imagenet"):
        downloads.fetch_datasets(plan.profile_datasets("paper"), tmp_path, log=lines.append)
    assert f"  cifar10: present in {tmp_path / 'cifar-10-batches-py'}" in lines
    sizes = [ln for ln in lines if ln.startswith("to fetch:")]
    # 169,001,437 + 2,640,397,119 + 248,100,043 bytes to download
    assert sizes and "download 3.06 GB" in sizes[0]
    missing = [ln for ln in lines if ln.startswith("  missing ")]
    assert missing == [f"  missing {n}: put {f} ({a.size:,} bytes, md5 {a.md5}, from {a.url}) at {tmp_path / f}, "
                       f"then run this again to check and unpack it"
                       for n, f in (("cifar100", "cifar-100-python.tar.gz"), ("stl10", "stl10_binary.tar.gz"),
                                    ("tiny-imagenet", "tiny-imagenet-200.zip"))
                       for a in [downloads.ARCHIVES[n]]]


def fake_cifar_archive(tmp_path) -> bytes:
    src = tmp_path / "src"
    write_cifar(src, 10, n_train=20, n_test=10)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        t.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return buf.getvalue()


def test_a_download_resumes_verifies_and_unpacks(tmp_path, monkeypatch):
    blob = fake_cifar_archive(tmp_path)
    fake = replace(downloads.ARCHIVES["cifar10"], size=len(blob), md5=hashlib.md5(blob).hexdigest())
    monkeypatch.setitem(downloads.ARCHIVES, "cifar10", fake)
    root = tmp_path / "data"
    root.mkdir()
    half = len(blob) // 2
    (root / "cifar-10-python.tar.gz.part").write_bytes(blob[:half])  # an interrupted download
    asked = []

    def serve(url, start):
        asked.append(start)
        return io.BytesIO(blob[start:]), True

    monkeypatch.setattr(downloads, "open_url", serve)
    downloads.fetch_datasets(["cifar10"], root, log=lambda *_: None)
    assert asked == [half]  # resumed where the .part ended
    assert downloads.present("cifar10", root)
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py"]  # archive and .part gone


def test_a_corrupt_archive_is_kept_aside(tmp_path, monkeypatch):
    blob = fake_cifar_archive(tmp_path)
    fake = replace(downloads.ARCHIVES["cifar10"], size=len(blob), md5="0" * 32)
    monkeypatch.setitem(downloads.ARCHIVES, "cifar10", fake)
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setattr(downloads, "open_url", lambda url, start: (io.BytesIO(blob), False))
    with pytest.raises(data.DatasetMissing, match=f"has md5 {hashlib.md5(blob).hexdigest()}, expected 0{{32}}"):
        downloads.fetch_datasets(["cifar10"], root, log=lambda *_: None)
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-python.tar.gz.bad"]
