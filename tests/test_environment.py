"""pyproject.toml and environment.yml describe the same environment."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip", "pytorch-cuda"}


def name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower()


def test_pyproject_and_environment_yml_name_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {name(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]}
    conda_names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:"):].splitlines():
        m = re.match(r"^\s+- ([A-Za-z][\w.-]*)", line)
        if m and m.group(1) != "pip:":
            n = name(m.group(1))
            if n not in CONDA_ONLY:
                conda_names.add(CONDA_NAMES.get(n, n))
    assert pip_names == conda_names, (pip_names ^ conda_names)
