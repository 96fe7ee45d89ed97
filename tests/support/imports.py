"""The import graph of Shipyard's packages, read with `ast` (nothing is imported): every import
statement counts, at module level or inside a function, under `TYPE_CHECKING` or not."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "steps", "providers", "jobqueue")
# What each package may import of the others: app → steps → providers, and app → jobqueue.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "app": frozenset({"app", "steps", "providers", "jobqueue"}),
    "steps": frozenset({"steps", "providers"}),
    "providers": frozenset({"providers"}),
    "jobqueue": frozenset({"jobqueue"}),
}


def module_files(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Module name -> file, for every module of the packages (`pkg/__init__.py` is `pkg`)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, source: str, known: Iterable[str]) -> set[str]:
    """The known modules that `source` (module `name`) imports, wherever the statement is."""
    modules = set(known)
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in modules else base)
    nearest = {_nearest(module, modules) for module in found}
    return {module for module in nearest if module is not None and module != name}


def import_graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    return {name: imports_of(name, path.read_text(), files) for name, path in files.items()}


def reaching_up(graph: Mapping[str, set[str]]) -> list[str]:
    """`importer -> imported` for every import against MAY_IMPORT."""
    return sorted(
        f"{module} -> {imported}"
        for module, imported_modules in graph.items()
        for imported in imported_modules
        if imported.split(".")[0] not in MAY_IMPORT.get(module.split(".")[0], frozenset())
    )


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other, directly or not (Tarjan's strongly
    connected components of more than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _is_package(name: str, modules: set[str]) -> bool:
    return any(other.startswith(name + ".") for other in modules)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _nearest(module: str, modules: set[str]) -> str | None:
    """`module` if it is one of ours, else its nearest package of ours; None outside them."""
    while module:
        if module in modules:
            return module
        module = module.rpartition(".")[0]
    return None
