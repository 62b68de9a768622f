"""A real browser drives JupyterLab with `make lab`'s settings: the jupytext .py notebooks open as notebooks
and draw their figures inline; explore_landscapes runs, the offset slider moves, the plot follows.

Headless Debian Chromium through Playwright; JupyterLab on 127.0.0.1 with a token and a free port;
notebooks run on a temporary results store. Screenshots land in test-artifacts/.
"""
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import jupytext
import pytest

from rtdlib import notebooks

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = notebooks.ROOT / "test-artifacts"
LAB_SETTINGS = notebooks.ROOT / "jupyter"  # what `make lab` passes as JUPYTER_CONFIG_PATH


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smoke_copy(folder: Path) -> Path:
    """explore_landscapes as .ipynb with the rtdlib kernel and the smoke profile in its parameters cell."""
    nb = jupytext.read(notebooks.source("explore_landscapes"))
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = re.sub(r'profile = "quick"', 'profile = "smoke"', cell.source)
    assert 'profile = "smoke"' in cell.source
    nb.metadata.pop("jupytext", None)  # a plain notebook: no pairing with the .py source
    nb.metadata["kernelspec"] = {"name": "rtdlib", "display_name": "Python (rtdlib)", "language": "python"}
    path = folder / "explore.ipynb"
    jupytext.write(nb, path, fmt="ipynb")
    return path


@contextmanager
def served(tmp_path, root: Path, **env):
    """JupyterLab on `root` with `make lab`'s settings (JUPYTER_CONFIG_PATH=jupyter/), on 127.0.0.1 with a token
    and a free port, a temporary results store and none of the user's own Jupyter settings; yields (url, token).
    The server (and its kernels) is stopped even on failure."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does this)")
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_CONFIG_PATH": str(LAB_SETTINGS), "RTD_RESULTS": str(tmp_path / "results"),
           "PYTHONPATH": str(notebooks.ROOT), "RTD_PROGRESS": "0", **env}
    for var in ("RTD_FIGURES_DIR", "MPLBACKEND"):
        if var not in env or env[var] is None:
            env.pop(var, None)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.open_browser=False",
           f"--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", "--LabApp.news_url=None"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "jupyter.log", "w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {(tmp_path / 'jupyter.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url, token
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server's own process group: it and its kernels
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


@pytest.fixture
def lab(tmp_path):
    work = tmp_path / "lab"
    work.mkdir()
    smoke_copy(work)
    with served(tmp_path, work, MPLBACKEND="Agg") as (url, token):  # the widget draws its own PNGs
        yield f"{url}/lab/tree/explore.ipynb?token={token}"


def test_offset_slider_redraws_the_slice(lab):
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(lab, timeout=60_000)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            page.wait_for_timeout(2000)  # let the kernel connection settle
            page.get_by_role("menuitem", name="Run", exact=True).click(timeout=20_000)
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click(timeout=20_000)
            page.locator(".jp-InputArea-prompt:has-text('[*]'), .jp-InputArea-prompt:has-text('[1]')").first.wait_for(
                timeout=60_000)  # execution started
            label = page.locator(".widget-label:has-text('drawn:')")
            label.wait_for(timeout=200_000)
            assert "offset=0.00" in label.inner_text()
            image = page.locator(".jupyter-widgets img, img.widget-image").first
            before_src = image.get_attribute("src")
            image.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "explore_landscapes_before.png"), full_page=True)
            before_png = image.screenshot()

            slider = page.locator(".widget-slider:has(.widget-label:text-is('offset'))")
            readout = slider.locator(".widget-readout")
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("0.3")
            page.keyboard.press("Enter")
            page.locator(".widget-label:has-text('offset=0.30')").wait_for(timeout=60_000)

            text = label.inner_text()
            assert "offset=0.30" in text and "angle=0" in text
            after_src = image.get_attribute("src")
            page.screenshot(path=str(ARTIFACTS / "explore_landscapes_after.png"), full_page=True)
            assert after_src != before_src  # a new PNG was drawn for the new slice
            assert image.screenshot() != before_png
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "explore_landscapes_failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def test_make_lab_uses_the_settings_this_test_serves():
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", (notebooks.ROOT / "Makefile").read_text(), re.M).group(1)
    assert "JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter" in recipe and "-m jupyter lab" in recipe, recipe
    assert (LAB_SETTINGS / "labconfig" / "default_setting_overrides.json").is_file()


def test_py_notebooks_open_as_notebooks_on_the_project_kernel_and_draw_inline(tmp_path):
    """make lab lands on notebooks/index.py; it opens as a notebook (not as text) on the rtdlib kernel, its chart
    renders inline, and its link to a figure notebook opens that .py file as a notebook too."""
    from playwright.sync_api import sync_playwright
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    for src in notebooks.NOTEBOOKS.glob("*.py"):  # a copy: Lab may save what it opens
        shutil.copy(src, root / "notebooks" / src.name)
    ARTIFACTS.mkdir(exist_ok=True)
    with served(tmp_path, root) as (url, token), sync_playwright() as p:
        landing = urllib.request.urlopen(f"{url}/?token={token}", timeout=30).geturl()
        assert landing.split("?")[0].endswith("/lab/tree/notebooks/index.py"), landing
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(landing, timeout=60_000)
            notebook = page.locator(".jp-NotebookPanel:visible")
            notebook.locator(".jp-Cell").nth(3).wait_for(timeout=90_000)  # cells, not one text editor
            assert page.locator(".jp-FileEditor:visible").count() == 0
            # the indicator is idle before a kernel is attached too ("No Kernel"): wait for the kernel's name
            notebook.locator(".jp-NotebookPanel-toolbar").get_by_text("Python (rtdlib)").wait_for(timeout=90_000)
            notebook.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
            page.wait_for_timeout(2000)  # let the kernel connection settle
            page.get_by_role("menuitem", name="Run", exact=True).click(timeout=20_000)
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click(timeout=20_000)
            image = notebook.locator(".jp-OutputArea-output img").first
            image.wait_for(timeout=180_000)
            width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
            assert width > 300, width  # a decoded PNG of the cost chart
            assert notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            page.screenshot(path=str(ARTIFACTS / "lab_index.png"), full_page=True)
            notebook.locator("a[href*='01_student_vs_teacher.py']").first.click()
            opened = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
            page.get_by_role("tab", name=re.compile("01_student_vs_teacher.py")).wait_for(timeout=60_000)
            opened.wait_for(timeout=60_000)
            assert page.locator(".jp-FileEditor:visible").count() == 0
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "lab_index_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
