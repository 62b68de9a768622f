"""Readable without running: executed notebooks hold their figures, and the report maps the papers to them."""
import json
import re
import shutil

import pytest

from rtdlib import notebooks, report

TINY = '''# %% [markdown]
# # Fig. 18: a tiny figure notebook
# %% tags=["parameters"]
profile = "quick"
# %%
import matplotlib.pyplot as plt
from rtdlib import plotting
fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
plotting.save(fig, "tiny", profile)
'''


def test_headings_name_figures_and_tables():
    assert report.mentions("# Figs. 5, 13–16: landscapes") == {"Fig. 5", "Fig. 13", "Fig. 14", "Fig. 15", "Fig. 16"}
    assert report.mentions("## Tables 1 and 3: final probe accuracy") == {"Table 1", "Table 3"}
    assert report.mentions("## Fig. 1: accuracy vs epoch (mean ± sd over 5 seeds)") == {"Fig. 1"}


def test_the_paper_map_covers_both_papers_and_every_notebook():
    labels = {i.label for i in report.ITEMS if i.paper == report.RT}
    assert {f"Fig. {n}" for n in range(1, 19)} | {f"Table {n}" for n in range(1, 6)} <= labels
    assert {i.label for i in report.ITEMS if i.notebook is None} == {"Fig. 2", "Fig. 6", "Fig. 7"}  # schematics
    assert any(i.paper == report.P2P for i in report.ITEMS)
    mapped = {i.notebook for i in report.ITEMS if i.notebook}
    assert mapped == set(notebooks.available())


def test_every_mapped_item_names_files_the_committed_quick_run_saved():
    saved = report.figure_files("quick")
    missing = [i.label for i in report.ITEMS if i.notebook and not report.item_files(i, saved)]
    assert not missing, f"no file of figures/quick/ matches the patterns of {missing}"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The runner's and the report's folders in a temporary project; the real notebooks/ stays."""
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "BUILD", tmp_path / "build")
    monkeypatch.setattr(notebooks, "FIGURES", tmp_path / "figures")
    monkeypatch.setenv("RTD_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("RTD_PROGRESS", "0")
    return tmp_path


@pytest.mark.notebook
def test_an_executed_notebook_shows_its_figure_and_the_report_pages_it(project, monkeypatch):
    real = notebooks.NOTEBOOKS
    (project / "src").mkdir()
    (project / "src" / "tiny.py").write_text(TINY)
    monkeypatch.setattr(notebooks, "NOTEBOOKS", project / "src")
    files = notebooks.run("tiny", "smoke")
    assert sorted(f.name for f in files) == ["tiny.pdf", "tiny.png"]  # the saved files, as before
    executed = project / "build" / "smoke" / "tiny.ipynb"
    outputs = [o for c in json.loads(executed.read_text())["cells"] for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs  # inline, not a staging path

    monkeypatch.setattr(notebooks, "NOTEBOOKS", real)
    shutil.copy(executed, project / "build" / "smoke" / "10_restart.ipynb")  # stands in for a real run
    record = {"notebook": "10_restart", "figures": ["fig18_restart.png", "unrelated.csv"]}
    (project / "figures" / "smoke" / ".runs" / "10_restart.json").write_text(json.dumps(record))
    stale = project / "report" / "smoke" / "gone.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier report")
    out = report.write("smoke")
    assert out == project / "report" / "smoke" and not stale.exists()
    assert [p.name for p in (project / "report").iterdir()] == ["smoke"]  # no temporary folder left
    index = (out / "index.html").read_text()
    for name in notebooks.available():
        assert re.search(rf"<li>(<a href=\"{name}.html\">)?{name}", index), name
    assert '<a href="10_restart.html#fig-18">10_restart</a>' in index
    assert '<a href="../../figures/smoke/fig18_restart.png">' in index and "unrelated.csv" not in index
    assert index.count("schematic, not regenerated") == 3
    page = (out / "10_restart.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    assert images and all((out / src).is_file() and (out / src).read_bytes()[:4] == b"\x89PNG" for src in images)
    assert '<a id="fig-18"></a>' in page and "not executed in this profile" in index
    markdown = (out / "10_restart.md").read_text()
    assert all(src in markdown for src in images)  # one PNG file serves both pages
    assert "10_restart.md#fig-18" in (out / "README.md").read_text()

    # a notebook not re-executed in the next build (up to date in a fresh clone) keeps its pages and images
    (project / "build" / "smoke" / "10_restart.ipynb").unlink()
    again = report.write("smoke")
    assert (again / "10_restart.html").read_text() == page and all((again / src).is_file() for src in images)
    assert '<a href="10_restart.html#fig-18">10_restart</a>' in (again / "index.html").read_text()
