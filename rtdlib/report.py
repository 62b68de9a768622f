"""A static report of a profile's executed notebooks: report/<profile>/, readable without running anything.

index.html (and README.md, which repository hosts render) maps every figure and table of both papers
to the notebook section that reproduces it and to our figure files; one page per executed notebook
of build/<profile>/ follows (HTML, and Markdown for repository hosts) with its figures as PNG files
shared by both. Made with nbconvert in a temporary folder that then takes the old report's place, so
no half-written report is ever left behind.
"""
from __future__ import annotations

import fnmatch
import html
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import notebooks
from .store import atomic_write, current_umask

RT = "Random Teachers are Good Teachers (Sarnthein et al., ICML 2023)"
P2P = "Peer-to-Peer Consensus (Rodríguez-Betancourt & Casasola-Murillo, 2026)"
PAPERS = {RT: "https://arxiv.org/abs/2302.12091", P2P: "https://arxiv.org/abs/2604.18390"}


@dataclass(frozen=True)
class Item:
    paper: str
    label: str  # "Fig. 3", "Table 5", ...: also the heading the notebook section is found by
    what: str
    notebook: str | None  # None: a schematic, not regenerated
    files: tuple[str, ...] = ()  # glob patterns over the notebook's saved files in figures/<profile>/
    heading: str = ""  # for a label that names no figure or table: text of the notebook heading it links to


ITEMS = (
    Item(RT, "Fig. 1", "linear probe accuracy of teacher, student and input vs training time", "01_student_vs_teacher",
         ("fig01_*",)),
    Item(RT, "Fig. 2", "schematic of the teacher-student setup", None),
    Item(RT, "Fig. 3", "probe accuracy vs the locality parameter α", "02_locality", ("fig03_*",)),
    Item(RT, "Fig. 4", "probe accuracy vs sample size n, real vs Gaussian-noise inputs", "03_data_dependence",
         ("fig04_*",)),
    Item(RT, "Fig. 5", "loss and probing landscapes in the plane of teacher, student and a second student",
         "05_landscapes", ("fig05_*",)),
    Item(RT, "Fig. 6", "illustration of the lottery ticket hypothesis and iterative magnitude pruning", None),
    Item(RT, "Fig. 7", "illustration of SGD stability and linear mode connectivity", None),
    Item(RT, "Fig. 8", "lottery tickets: test accuracy vs sparsity per rewinding point", "06_lottery",
         ("fig08_lottery*",)),
    Item(RT, "Fig. 9", "test error along linear paths between networks trained from one start", "07_mode_connectivity",
         ("fig09_*",)),
    Item(RT, "Fig. 10", "ablation: output dimension m of the projection head", "04_ablations", ("fig10_*",)),
    Item(RT, "Fig. 11", "ablation: normalization layers", "04_ablations", ("fig11_*",)),
    Item(RT, "Fig. 12", "ablation: parts of the l2-bottleneck", "04_ablations", ("fig12_*", "stats_04_*")),
    Item(RT, "Fig. 13", "the landscapes in orthonormal coordinates", "05_landscapes", ("fig13_*",)),
    Item(RT, "Fig. 14", "crop around the teacher: the asymmetric valley", "05_landscapes", ("fig14_*",)),
    Item(RT, "Fig. 15", "embedding KL landscape with the k-NN probing landscape", "05_landscapes", ("fig15_*",)),
    Item(RT, "Fig. 16", "embedding KL landscape, crop around the teacher", "05_landscapes", ("fig16_*",)),
    Item(RT, "Fig. 17", "optimization metrics per α: KL and distance from initialization", "02_locality",
         ("fig17_*",)),
    Item(RT, "Fig. 18", "restarting distillation: the student becomes the next teacher", "10_restart",
         ("fig18_*",)),
    Item(RT, "Table 1", "linear probe accuracy of teacher, student and input per dataset", "01_student_vs_teacher",
         ("table1_3_*",)),
    Item(RT, "Table 2", "linear probe accuracy after transfer between datasets", "03_data_dependence",
         ("table2_4_*",)),
    Item(RT, "Table 3", "k-NN probe accuracy of teacher, student and input per dataset", "01_student_vs_teacher",
         ("table1_3_*",)),
    Item(RT, "Table 4", "k-NN probe accuracy after transfer between datasets", "03_data_dependence",
         ("table2_4_*",)),
    Item(RT, "Table 5", "probe accuracy across architectures", "09_architectures", ("table05_*",)),
    Item(RT, "Figs. 5, 13–16 (interactive)", "1-D slices through the landscape planes (ipywidgets in JupyterLab)",
         "explore_landscapes", ("explore_landscapes_*",), heading="Explore the landscapes"),
    Item(P2P, "Main claim", "peer-consensus groups vs the random baseline, by group size K", "08_peer_consensus",
         ("p2p_consensus_vs_k*",), heading="Accuracy vs group size K"),
    Item(P2P, "Referee's controls", "every rule minus the independent control and the baselines, paired tests",
         "08_peer_consensus", ("p2p_consensus_differences*", "p2p_consensus_tests*", "p2p_consensus_per_seed*"),
         heading="Every setting minus each baseline"),
)

WIDGET = "application/vnd.jupyter.widget-view+json"
STYLER_ID = re.compile(r"\bT_[0-9a-f]{5}(?![0-9a-zA-Z])")  # pandas Styler's table id: T_ and 5 random hex digits
STYLE_BLOCK = re.compile(r"<style[^>]*>.*?</style>\n?", re.S)
TEMPLATE = """{%- extends 'basic/index.html.j2' -%}
{% block input_group -%}<details class="code"><summary>code</summary>{{ super() }}</details>{%- endblock input_group %}
"""
CSS = """body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
  line-height: 1.45; color: #222; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; vertical-align: top; }
details.code { margin: .3em 0; } details.code summary { color: #777; cursor: pointer; font-size: .85em; }
.highlight pre, .output_text pre { background: #f6f8fa; padding: .5em; overflow-x: auto; font-size: .85em; }
.output_stderr pre { background: #fff4f4; }
nav { font-size: .9em; margin-bottom: 1em; }
"""


def mentions(text: str) -> set[str]:
    """The figures and tables a heading names: "Figs. 5, 13–16" -> {"Fig. 5", "Fig. 13", ..., "Fig. 16"}."""
    found = set()
    for m in re.finditer(r"\b(Fig|Table)s?\.?\s+((?:\d+(?:\s*[–-]\s*\d+)?(?:\s*(?:,|and)\s*)?)+)", text):
        for part in re.findall(r"\d+\s*[–-]\s*\d+|\d+", m.group(2)):
            lo, _, hi = re.sub(r"\s", "", part).replace("–", "-").partition("-")
            kind = "Fig." if m.group(1) == "Fig" else "Table"
            found |= {f"{kind} {n}" for n in range(int(lo), int(hi or lo) + 1)}
    return found


def anchor(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def add_anchors(nb, name: str) -> None:
    """Mark, for every figure or table the notebook's headings name, the most specific heading naming it,
    and for every item of ITEMS given by heading text, the first heading holding that text."""
    best = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        heading = next((ln for ln in cell.source.splitlines() if ln.startswith("#")), "")
        level = len(heading) - len(heading.lstrip("#"))
        for label in mentions(heading):
            if label not in best or level > best[label][0]:
                best[label] = (level, i)
        for item in ITEMS:
            if item.notebook == name and item.heading and item.heading in heading and item.label not in best:
                best[item.label] = (level, i)
    for label, (_, i) in sorted(best.items()):
        nb.cells[i].source = f'<a id="{anchor(label)}"></a>\n\n' + nb.cells[i].source


def stable(nb) -> None:
    """Replace what differs between two executions of an unchanged notebook (random cell ids, widget
    models) so a redraw that changes no number rewrites no page; see also `tidy`."""
    nb.metadata.pop("widgets", None)  # the widgets' saved state, keyed by random model ids
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
        for out in cell.get("outputs", []):
            if WIDGET in out.get("data", {}):  # a live widget does not render in a static page
                out.data = {"text/plain": "(an interactive widget: open the notebook in JupyterLab)"}


def tidy(text: str, markdown: bool) -> str:
    """Number pandas Styler tables in order of appearance (their ids are random per execution), and leave
    <style> blocks out of Markdown pages (repository hosts strip the tag and show the CSS as text)."""
    ids = {}
    text = STYLER_ID.sub(lambda m: ids.setdefault(m.group(0), f"T_table{len(ids)}"), text)
    return STYLE_BLOCK.sub("", text) if markdown else text


def anchors_of(page: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page))


def figure_files(profile: str) -> dict[str, list[str]]:
    """Notebook -> the files its last successful run saved in figures/<profile>/."""
    runs = notebooks.FIGURES / profile / ".runs"
    return {p.stem: json.loads(p.read_text())["figures"] for p in sorted(runs.glob("*.json"))}


def item_files(item: Item, saved: dict[str, list[str]]) -> list[str]:
    return [f for f in saved.get(item.notebook, []) if any(fnmatch.fnmatch(f, pat) for pat in item.files)]


def render(executed: Path, name: str):
    """(HTML body, Markdown body, {file: bytes}) of one executed notebook, its outputs as shared files."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter, MarkdownExporter
    from nbconvert.preprocessors import ExtractOutputPreprocessor
    from traitlets.config import Config
    nb = nbformat.read(executed, as_version=4)
    add_anchors(nb, name)
    stable(nb)
    resources = {"output_files_dir": f"{name}_files", "unique_key": name, "outputs": {}}
    nb, resources = ExtractOutputPreprocessor(enabled=True).preprocess(nb, resources)
    page = HTMLExporter(template_name="basic", extra_loaders=[jinja2.DictLoader({"report.html.j2": TEMPLATE})],
                        template_file="report.html.j2", exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = page.from_notebook_node(nb, resources=dict(resources))
    extracted = Config({"ExtractOutputPreprocessor": {"enabled": False}})  # done above, for both pages
    text, _ = MarkdownExporter(exclude_input=True, config=extracted).from_notebook_node(nb, resources=dict(resources))
    return tidy(body, markdown=False), tidy(text, markdown=True), resources["outputs"]


def failed(executed: Path) -> bool:
    return bool(json.loads(executed.read_text()).get("metadata", {}).get("papermill", {}).get("exception"))


def index_rows(profile: str, anchors: dict[str, set[str]]):
    """(paper, item, what, notebook cell, files cell) with links relative to report/<profile>/: to the item's
    section where its page has one, else to the page (a page kept from an older build may lack it)."""
    saved = figure_files(profile)
    figures = f"../../{notebooks.FIGURES.name}/{profile}" if notebooks.FIGURES.parent == notebooks.ROOT else None
    for item in ITEMS:
        if item.notebook is None:
            yield item, None, [], "schematic, not regenerated"
            continue
        link = None
        if item.notebook in anchors:
            found = anchor(item.label) in anchors[item.notebook]
            link = f"{item.notebook}.html" + (f"#{anchor(item.label)}" if found else "")
        files = [(f, f"{figures}/{f}" if figures else None) for f in item_files(item, saved)]
        yield item, link, files, None


def write_index(out: Path, profile: str, pages: dict[str, str], anchors: dict[str, set[str]]) -> None:
    """index.html and README.md: the paper map, then every figure notebook with its page or why none."""
    rows_html, rows_md = [], []
    for item, link, files, note in index_rows(profile, anchors):
        paper = "Random Teachers (2023)" if item.paper == RT else "Peer consensus (2026)"
        nb_html = (f'<a href="{link}">{item.notebook}</a>' if link else html.escape(item.notebook or "")) or note
        nb_md = (f"[{item.notebook}]({link.replace('.html', '.md')})" if link else item.notebook or "") or note
        files_html = ", ".join(f'<a href="{u}">{html.escape(f)}</a>' if u else html.escape(f) for f, u in files)
        files_md = ", ".join(f"[{f}]({u})" if u else f for f, u in files)
        rows_html.append(f"<tr><td>{paper}</td><td>{item.label}</td><td>{html.escape(item.what)}</td>"
                         f"<td>{nb_html}</td><td>{files_html}</td></tr>")
        rows_md.append(f"| {paper} | {item.label} | {item.what} | {nb_md} | {files_md} |")
    names = notebooks.available()
    list_html = "".join(f'<li><a href="{n}.html">{n}</a>{pages[n]}</li>' if n in pages else
                        f"<li>{n}: not executed in this profile</li>" for n in names)
    list_md = "\n".join(f"- [{n}]({n}.md){pages[n]}" if n in pages else f"- {n}: not executed in this profile"
                        for n in names)
    papers_html = "".join(f'<li><a href="{u}">{html.escape(p)}</a></li>' for p, u in PAPERS.items())
    papers_md = "\n".join(f"- [{p}]({u})" for p, u in PAPERS.items())
    title = f"Random Teachers companion: the <code>{profile}</code> profile"
    head = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><link rel="stylesheet" href="style.css">'
    atomic_write(out / "index.html", (
        f"{head}<title>{profile} report</title></head><body>\n<h1>{title}</h1>\n"
        f"<p>Executed notebooks of <code>make figures PROFILE={profile}</code>. Papers:</p><ul>{papers_html}</ul>\n"
        "<h2>Every figure and table of both papers</h2>\n<table><tr><th>paper</th><th>figure / table</th>"
        "<th>what it shows</th><th>notebook section</th><th>our files</th></tr>\n"
        + "\n".join(rows_html) + f"\n</table>\n<h2>Notebooks</h2><ul>{list_html}</ul>\n</body></html>\n").encode())
    atomic_write(out / "README.md", (
        f"# Random Teachers companion: the `{profile}` profile\n\n"
        f"Executed notebooks of `make figures PROFILE={profile}` (open `index.html` for the HTML pages, "
        f"with the code). Papers:\n\n{papers_md}\n\n## Every figure and table of both papers\n\n"
        "| paper | figure / table | what it shows | notebook section | our files |\n|---|---|---|---|---|\n"
        + "\n".join(rows_md) + f"\n\n## Notebooks\n\n{list_md}\n").encode())


def write(profile: str) -> Path:
    """Render report/<profile>/ from build/<profile>/*.ipynb (nothing is executed); returns its folder."""
    from pygments.formatters import HtmlFormatter
    built = notebooks.BUILD / profile
    final = notebooks.ROOT / "report" / profile
    final.parent.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f".{profile}-", dir=final.parent))
    try:
        os.chmod(out, 0o777 & ~current_umask())  # mkdtemp's 0700 would make the report private
        atomic_write(out / "style.css", (CSS + HtmlFormatter().get_style_defs(".highlight")).encode())
        pages, anchors = {}, {}
        for name in notebooks.available():
            executed = built / f"{name}.ipynb"
            if not executed.is_file():  # not re-executed here (e.g. up to date in a fresh clone): keep its pages
                if (final / f"{name}.html").is_file():
                    for page in (f"{name}.html", f"{name}.md"):
                        if (final / page).is_file():
                            atomic_write(out / page, tidy((final / page).read_text(), page.endswith(".md")).encode())
                    if (final / f"{name}_files").is_dir():
                        shutil.copytree(final / f"{name}_files", out / f"{name}_files")
                    pages[name], anchors[name] = "", anchors_of((out / f"{name}.html").read_text())
                continue
            body, text, outputs = render(executed, name)
            note = " (its last run failed: this page shows it up to the failing cell)" if failed(executed) else ""
            pages[name], anchors[name] = note, anchors_of(body)
            source = f"../../notebooks/{name}.py"
            nav_html = (f'<nav><a href="index.html">all figures</a> · source: <a href="{source}">'
                        f"notebooks/{name}.py</a>{html.escape(note)}</nav>")
            atomic_write(out / f"{name}.html", (
                '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><link rel="stylesheet" '
                f'href="style.css"><title>{name} ({profile})</title></head><body>\n{nav_html}\n{body}\n'
                "</body></html>\n").encode())
            atomic_write(out / f"{name}.md", (f"[all figures](README.md) · source: [notebooks/{name}.py]({source})"
                                              f"{note}\n\n{text}").encode())
            for rel, data in outputs.items():
                (out / rel).parent.mkdir(exist_ok=True)
                atomic_write(out / rel, data)
        write_index(out, profile, pages, anchors)
        old = final.with_name(f".{profile}-old-{os.getpid()}")
        if final.exists():
            os.replace(final, old)
        os.replace(out, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return final
