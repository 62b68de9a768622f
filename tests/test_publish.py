"""Published results (config, metrics, meta without checkpoints): figures redraw from them without
training, a step that needs an omitted checkpoint recomputes its entry, `verify` recomputes entries
and names any metric that differs; SUMMARY.md from the notebooks' claims."""
import json
import os
import subprocess
import sys

import pytest

from conftest import tiny_cfg
from rtdlib import notebooks, publish, verify
from rtdlib.config import replace
from rtdlib.distill import distill
from rtdlib.restart import RestartCfg, restart
from rtdlib.store import PUBLISHED, Store, StoreError, sha256_file


@pytest.fixture
def published(tmp_path, monkeypatch):
    """An empty published/ folder the store and `verify` read (RTD_PUBLISHED)."""
    root = tmp_path / "published"
    monkeypatch.setenv("RTD_PUBLISHED", str(root))
    return root


def test_a_step_needing_an_omitted_checkpoint_recomputes_that_entry_into_results(tmp_path, published):
    """Restart's second round needs the first round's student, which a published entry does not keep."""
    first = tiny_cfg(epochs=1, probe_epochs=(1,), probe_nets=("student",), seed=3)
    cfg = RestartCfg(first, replace(first, epochs=1, probe_epochs=(1,)))
    full = Store(tmp_path / "full", published=[])
    expected = full.get_or_run("restart", cfg, restart)
    publish.write_entry(full.get("distill", first), published / "smoke" / "distill" / expected.metrics["first"])
    results = Store(tmp_path / "results")
    assert results.get("distill", first).path.is_relative_to(published)  # read behind results/
    got = results.get_or_run("restart", cfg, restart)
    assert (results.path("distill", first) / "student.pt").exists()  # the first round, recomputed here
    assert got.metrics == expected.metrics  # bit for bit: same student, same second round


def test_verify_recomputes_published_entries_and_names_a_tampered_metric(tmp_path, published):
    full = Store(tmp_path / "full", published=[])
    entries = [full.get_or_run("distill", tiny_cfg(seed=s, epochs=1, probe_epochs=(1,), probe_nets=("student",)),
                               distill) for s in (0, 1)]
    for r in entries:
        publish.write_entry(r, published / "smoke" / "distill" / r.hash)
    target = published / "smoke" / "distill" / entries[1].hash
    metrics = json.loads((target / "metrics.json").read_text())
    metrics["probes"][0]["acc"] += 0.01  # a changed number, its checksum updated as a careful editor would
    (target / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    marker = json.loads((target / PUBLISHED).read_text())
    marker["files"]["metrics.json"] = sha256_file(target / "metrics.json")
    (target / PUBLISHED).write_text(json.dumps(marker))
    r = subprocess.run([sys.executable, "-m", "rtdlib", "verify", "--profile", "smoke", "-n", "2", "--seed", "5"],
                       capture_output=True, text=True, timeout=600, env={**os.environ, "RTD_PROGRESS": "0"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "seed 5" in r.stdout and f"ok distill/{entries[0].hash}" in r.stdout
    bad = [line for line in r.stdout.splitlines() if line.startswith("MISMATCH")]
    assert bad == [line for line in bad if f"distill/{entries[1].hash}" in line and "'probes[0].acc'" in line]
    assert len(bad) == 1


def test_verify_without_published_entries_says_so_and_succeeds(published, capsys):
    assert verify.verify("quick", cheapest=True) == 0
    assert "no published entries" in capsys.readouterr().out


def test_differences_are_exact_and_name_the_path():
    assert verify.differences({"a": [1.0, float("nan")]}, {"a": [1.0, float("nan")]}) == []
    assert verify.differences({"a": {"b": [0.5, 0.25]}}, {"a": {"b": [0.5, 0.25000000000000006]}}) == [
        ("a.b[1]", 0.25, 0.25000000000000006)]
    assert verify.differences({"a": 1}, {"b": 1}) == [("a", 1, "absent"), ("b", "absent", 1)]


def test_publish_writes_nothing_unless_every_entry_is_intact(tmp_path, published):
    with pytest.raises(StoreError, match=r"not intact in .*run `make figures PROFILE=smoke` first"):
        publish.publish("smoke", only=["02_locality"], results=tmp_path / "empty")
    assert not published.exists()


@pytest.mark.notebook
def test_a_notebook_renders_from_published_entries_without_training(tmp_path, published, monkeypatch):
    name = "01_student_vs_teacher"
    monkeypatch.setattr(notebooks, "FIGURES", tmp_path / "figures")
    monkeypatch.setenv("RTD_RESULTS", str(tmp_path / "full"))
    notebooks.run(name, "smoke")  # computes every entry (the "full store" a developer publishes from)
    dest = publish.publish("smoke", only=[name], results=tmp_path / "full")
    entries = sorted(dest.glob("distill/*"))
    assert entries and all({p.name for p in e.iterdir()} == {"config.json", "metrics.json", "meta.json", PUBLISHED}
                           for e in entries)  # no weights, no checkpoints
    assert set(json.loads((entries[0] / PUBLISHED).read_text())["omitted"]) == {"student.pt", "teacher.pt"}

    monkeypatch.setenv("RTD_RESULTS", str(tmp_path / "fresh-clone"))  # an empty results/
    figs = notebooks.run(name, "smoke")
    record = json.loads((tmp_path / "figures" / "smoke" / ".runs" / f"{name}.json").read_text())
    assert record["computed"] == [] and len(record["results"]) == len(entries)
    assert not (tmp_path / "fresh-clone" / "distill").exists()  # nothing trained
    assert any(f.suffix == ".png" for f in figs)
    assert notebooks.up_to_date(name, "smoke")  # `make figures` on a fresh clone skips it
    monkeypatch.setenv("RTD_PUBLISHED", "")  # `make reproduce`
    assert not notebooks.up_to_date(name, "smoke")


def claims_file(folder, notebook, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"claims_{notebook}.json").write_text(json.dumps(rows))


def test_manifest_rendering_writes_the_summary(tmp_path, monkeypatch):
    from test_claims import UP, claim, frame

    from rtdlib import claims
    monkeypatch.setattr(notebooks, "FIGURES", tmp_path)
    claims_file(tmp_path / "quick", "09_architectures", [claims.evaluate(claim(), frame({"A": UP}))])
    notebooks.write_manifest("quick")
    text = (tmp_path / "quick" / "SUMMARY.md").read_text()
    assert "1 claims: 1 supported, 0 contradicted, 0 inconclusive, 0 not shown at this scale." in text
