"""Imports run one way: no module imports, directly or round about, a module that imports it.

A lazy import inside a function counts too: it hides the circle from Python, not from a reader.
sandbox/ is left out here until its two known circles (api <-> control, salesforce composite
<-> rest) have one direction.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("crosswalk", "devhost", "orchestrators", "activities", "entities", "triggers")


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The known modules `module` imports (`from pkg import sub` is an import of pkg.sub)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            subs = [f"{base}.{alias.name}" for alias in node.names]
            found.update(s for s in subs if s in known)
            if not all(s in known for s in subs):
                found.add(base)
    # A package loading its own submodules (each role folder's `__init__` imports its modules
    # so their functions register on its blueprint) is how a package is put together, not a
    # circle: only the submodule's import of the package counts.
    return {
        name
        for name in found
        if name in known and name != module and not name.startswith(f"{module}.")
    }


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    known = set(paths)
    return {name: _imports(path, name, known) for name, path in paths.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_no_two_modules_of_the_app_or_devhost_import_each_other():
    assert _circles(_graph()) == []


def test_the_circle_finder_sees_a_lazy_import_back():
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}

    assert _circles(graph) == [["a", "b"]]
