"""No import cycles inside rtdlib.

Every import statement counts, at module level or inside a function: a function-level import only hides a
cycle until that function runs, and the design should not need it. Importing rtdlib.a.b also imports the
package rtdlib.a. Imports by name at run time (importlib, as in rtdlib.kinds) are not statements and do not
count: they are how a leaf module names the engines without depending on them. A module's own packages do not
count either: they are being imported already when it runs (rtdlib.models.encoders importing its sibling vit).
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rtdlib"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path, modules: set[str]) -> set[str]:
    """The modules of the package (and their parent packages below it) that one file imports anywhere."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{up}.{node.module}" if node.module else up
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    with_parents = {".".join(m.split(".")[:i]) for m in found for i in range(2, m.count(".") + 2)}
    own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}  # already importing
    return {m for m in with_parents - own_packages if m in modules and m != name}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    return {m: imports(p, root, set(files)) for m, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a list of modules, first repeated at the end) through every strongly connected group."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while v not in group:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
            if len(group) > 1:
                found.append(cycle_within(graph, group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def cycle_within(graph, group) -> list[str]:
    """A shortest path from the group's first module back to itself (breadth first, inside the group)."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{group} is not strongly connected")


def test_rtdlib_has_no_import_cycle():
    graph = import_graph()
    assert {"rtdlib.config", "rtdlib.store", "rtdlib.models.encoders"} <= set(graph)
    assert "rtdlib.errors" in graph["rtdlib.data"] and "rtdlib.kinds" in graph["rtdlib.store"]
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("files, expected", [
    ({"a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n"}, [["pkg.a", "pkg.b", "pkg.a"]]),
    ({"a.py": "import pkg.sub.c\n", "sub/__init__.py": "from .. import a\n", "sub/c.py": ""},
     [["pkg.a", "pkg.sub", "pkg.a"]]),
    ({"a.py": "from .b import y\n", "b.py": "import os\n", "c.py": "from pkg import a, b\n"}, []),
    ({"__init__.py": "from .sub import c\n", "sub/__init__.py": "", "sub/c.py": "from . import d\n", "sub/d.py": ""}, []),
])
def test_cycles_are_found_through_function_level_imports_and_parent_packages(tmp_path, files, expected):
    root = tmp_path / "pkg"
    for name, text in ({"__init__.py": ""} | files).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert cycles(import_graph(root)) == expected
