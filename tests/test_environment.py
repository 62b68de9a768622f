"""pyproject.toml and environment.yml describe the same environment."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip"}


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


def test_the_conda_route_installs_the_package_from_conda_forge_and_registers_the_kernel():
    text = (ROOT / "environment.yml").read_text()
    channels = re.search(r"^channels:\n((?:\s+- .*\n)+)", text, re.M).group(1).split()
    assert [c for c in channels if c != "-"] == ["conda-forge", "nodefaults"]  # pytorch/nvidia channels are deprecated
    pip_section = text[text.index("- pip:"):]
    assert re.search(r"^\s+- -e \.$", pip_section, re.M)  # the package itself, editable
    kernel = re.search(r"^KERNEL := (\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert f"ipykernel install --sys-prefix --name {kernel} " in text  # the kernel the notebooks name
