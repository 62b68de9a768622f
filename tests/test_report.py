"""Readable without running: executed notebooks hold their figures, and the report maps the papers to them."""
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

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
paths = plotting.save(fig, "tiny", profile)
# %%
import pandas as pd
LONG = "The student significantly outperforms its random teacher on every probe"  # > pandas' 50 characters
table = pd.DataFrame({"claim": [LONG], "acc": [91.5]})
display(table)
table.style.format({"acc": "{:.1f}"})
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

    # tables show whole cells; the Markdown page has no <style> block; a redraw rewrites no page
    assert "The student significantly outperforms its random teacher on every probe" in markdown
    assert "<style" not in markdown and "<style" in page
    assert '<table id="T_table0">' in page
    monkeypatch.setattr(notebooks, "NOTEBOOKS", project / "src")
    record = (project / "figures" / "smoke" / ".runs" / "tiny.json").read_text()
    manifest = (project / "figures" / "smoke" / "MANIFEST.md").read_text()
    notebooks.run("tiny", "smoke")  # again: new random Styler and cell ids in the executed notebook, new timings
    assert (project / "figures" / "smoke" / ".runs" / "tiny.json").read_text() == record  # same figures: kept
    assert (project / "figures" / "smoke" / "MANIFEST.md").read_text() == manifest
    monkeypatch.setattr(notebooks, "NOTEBOOKS", real)
    shutil.copy(executed, project / "build" / "smoke" / "10_restart.ipynb")
    report.write("smoke")
    assert (out / "10_restart.html").read_text() == page and (out / "10_restart.md").read_text() == markdown

    # a notebook not re-executed in the next build (up to date in a fresh clone) keeps its pages and images
    (project / "build" / "smoke" / "10_restart.ipynb").unlink()
    again = report.write("smoke")
    assert (again / "10_restart.html").read_text() == page and all((again / src).is_file() for src in images)
    assert '<a href="10_restart.html#fig-18">10_restart</a>' in (again / "index.html").read_text()


def links(page: Path) -> list[str]:
    """The internal links of a report page or README: href and src attributes, and Markdown links."""
    text = page.read_text()
    found = re.findall(r'(?:href|src)="([^"]*)"', text)
    if page.suffix == ".md":
        found += re.findall(r"\]\(([^)\s]+)\)", re.sub(r"```.*?```", "", text, flags=re.S))
    return [t for t in found if not re.match(r"[a-z]+:", t)]  # http:, https:, mailto: are external


def anchors(page: Path) -> set[str]:
    """Ids a link can point to: id attributes, and in Markdown the slugs repository hosts give headings."""
    text = page.read_text()
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    if page.suffix == ".md":
        ids |= {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.*)$", text, re.M)}
    return ids


def dead_links(pages) -> list[str]:
    dead = []
    for page in pages:
        for link in links(page):
            path, _, fragment = link.partition("#")
            target = (page.parent / unquote(path)).resolve() if path else page
            if not target.exists():
                dead.append(f"{page.name}: {link} (no such file)")
            elif fragment and not {fragment, unquote(fragment)} & anchors(target):  # browsers try both
                dead.append(f"{page.name}: {link} (no such anchor)")
    return dead


def test_the_link_checker_finds_missing_files_and_anchors(tmp_path):
    (tmp_path / "a.md").write_text('# A heading\n\n<a id="here"></a>\n[ok](b.html#x) [gone](c.md) [no anchor](b.html#y) '
                                   "[heading](#a-heading) [self](#here) [web](https://example.org/z)\n")
    (tmp_path / "b.html").write_text('<h2 id="x">x</h2><img src="img/p.png">')
    assert dead_links([tmp_path / "a.md", tmp_path / "b.html"]) == [
        "a.md: c.md (no such file)", "a.md: b.html#y (no such anchor)", "b.html: img/p.png (no such file)"]


def test_every_internal_link_and_anchor_of_the_committed_report_resolves():
    out = notebooks.ROOT / "report" / "quick"
    pages = sorted(out.glob("*.html")) + sorted(out.glob("*.md")) + [notebooks.ROOT / "README.md"]
    assert len(pages) == 2 * len(notebooks.available()) + 3  # a page of each kind per notebook, index, README
    assert dead_links(pages) == []


def test_committed_report_pages_hold_a_figure_each_and_no_style_blocks():
    out = notebooks.ROOT / "report" / "quick"
    for name in notebooks.available():
        assert re.search(r'<img[^>]+src="' + name + r'_files/', (out / f"{name}.html").read_text()), name
        assert "<style" not in (out / f"{name}.md").read_text(), name


def test_items_without_a_figure_number_are_anchored_at_their_heading():
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Peer consensus\ntext"),
                                         nbformat.v4.new_markdown_cell("## Accuracy vs group size K (mean)"),
                                         nbformat.v4.new_markdown_cell("## Every setting minus each baseline, paired")])
    report.add_anchors(nb, "08_peer_consensus")
    assert [c.source.split("\n")[0] for c in nb.cells] == [
        "# Peer consensus", '<a id="main-claim"></a>', '<a id="referee-s-controls"></a>']
