"""Where the project lives: the root that results/, data/ and figures/ are found from (no heavy imports,
so the command line can use it before torch loads)."""
from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """RTD_ROOT, else the source checkout this package sits in, else the current folder.

    results/, data/ and figures/ are found from here, not from the current folder: JupyterLab starts
    a notebook's kernel in notebooks/, papermill and `make figures` in the repository root."""
    if os.environ.get("RTD_ROOT"):
        return Path(os.environ["RTD_ROOT"]).resolve()
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()
