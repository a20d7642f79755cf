"""A package's import graph, read from its source with ``ast`` (nothing is imported to read it).

Shared by the SDK's and the kit's import-graph tests. Every import of one of the package's modules
counts, wherever it stands — a function-level import is how a cycle hides — and
:func:`import_each_in_order` then proves the graph read is the real one: in a fresh interpreter,
each module imports after only the modules the graph says it needs.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. ``llm_insights_kit.alerts.loader``; a package by its own name
    path: Path
    tree: ast.Module
    is_package: bool


def read_package(directory: Path, name: str) -> dict[str, Module]:
    """Every module of the package at *directory* (subpackages included), by dotted name."""
    modules: dict[str, Module] = {}
    for path in sorted(directory.rglob("*.py")):
        parts = [name, *path.relative_to(directory).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        dotted = ".".join(parts)
        modules[dotted] = Module(dotted, path, ast.parse(path.read_text(), str(path)), is_package)
    return modules


def imports(module: Module, modules: dict[str, Module]) -> list[tuple[str, ast.stmt]]:
    """(imported module of the package, import statement) for every import anywhere in it."""
    root = next(iter(modules)).split(".")[0]
    found: list[tuple[str, ast.stmt]] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [(_owner(a.name, modules), node) for a in node.names if _in(a.name, root)]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                here = module.name.split(".")
                package = here if module.is_package else here[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([node.module] if node.module else [])])
            elif node.module and _in(node.module, root):
                base = node.module
            else:
                continue
            for alias in node.names:  # ``from . import a, b`` imports modules a and b
                name = f"{base}.{alias.name}"
                found.append((name if name in modules else _owner(base, modules), node))
    return found


def graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Module → the package's modules it imports (``TYPE_CHECKING`` imports included)."""
    return {
        name: {dep for dep, _ in imports(m, modules) if dep != name} for name, m in modules.items()
    }


def layers(modules: dict[str, Module], depth: int) -> dict[str, set[str]]:
    """The graph with every module folded into its ancestor *depth* names deep (``a.b`` at 2)."""
    fold = {name: ".".join(name.split(".")[:depth]) for name in modules}
    folded: dict[str, set[str]] = {layer: set() for layer in fold.values()}
    for name, deps in graph(modules).items():
        folded[fold[name]] |= {fold[d] for d in deps if fold[d] != fold[name]}
    return folded


def cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One cycle of *g* (its first node repeated last), or None when *g* is acyclic."""
    try:
        graphlib.TopologicalSorter(g).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def lazy_imports(modules: dict[str, Module]) -> list[str]:
    """``module:line imports dep`` for every import of the package below a module's top level,
    except under ``if TYPE_CHECKING:``."""
    lazy = []
    for name, module in modules.items():
        top = {id(node) for node in module.tree.body}
        for dep, node in imports(module, modules):
            if id(node) not in top and not _under_type_checking(module.tree, node):
                lazy.append(f"{name}:{node.lineno} imports {dep}")
    return lazy


def import_each_in_order(modules: dict[str, Module]) -> None:
    """In a fresh interpreter, import every module in dependency order with no package's
    ``__init__`` run before its turn, and fail when importing one loads any module of the package
    besides itself: no import is hidden from ``ast`` and none relies on import order.
    ``__main__`` modules are programs, left out."""
    order = [  # a ``__main__`` module is a program: importing it runs it
        name
        for name in graphlib.TopologicalSorter(graph(modules)).static_order()
        if not name.endswith(".__main__")
    ]
    packages = {n: str(m.path) for n, m in modules.items() if m.is_package}
    root = order and order[0].split(".")[0]
    script = f"""
import importlib, importlib.util, sys
prefix = {root!r}
specs = {{}}
for name, init in sorted({packages!r}.items()):  # parents first: bare, their __init__ not run
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[init.rsplit("/", 1)[0]]
    )
    sys.modules[name] = specs[name] = importlib.util.module_from_spec(spec)
    if "." in name:
        setattr(sys.modules[name.rsplit(".", 1)[0]], name.rsplit(".", 1)[1], sys.modules[name])
ran = set()
def loaded():
    return {{m for m in sys.modules if m.split(".")[0] == prefix and (m not in specs or m in ran)}}
for name in {order!r}:
    before = loaded()
    if name in specs:
        specs[name].__spec__.loader.exec_module(specs[name])
        ran.add(name)
    else:
        importlib.import_module(name)
    after = loaded()
    assert after == before | {{name}}, (name, sorted(after - before - {{name}}))
print("imported", len(loaded()))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported")


def _in(dotted: str, root: str) -> bool:
    return dotted.split(".")[0] == root


def _owner(dotted: str, modules: dict[str, Module]) -> str:
    """The package's module *dotted* names, or the nearest package holding it."""
    while dotted not in modules and "." in dotted:
        dotted = dotted.rsplit(".", 1)[0]
    return dotted


def _under_type_checking(tree: ast.Module, node: ast.AST) -> bool:
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.If)
            and getattr(stmt.test, "id", getattr(stmt.test, "attr", None)) == "TYPE_CHECKING"
            and any(node is n for n in ast.walk(stmt))
        ):
            return True
    return False
