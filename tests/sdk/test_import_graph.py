"""The SDK's modules import each other in one direction only.

A cycle is what made ``_guard`` import ``_state`` inside a function; a lazy import is how the
next one would hide. Both are read from the source with ``ast`` (no import needed), and each
module is then imported on its own, deepest dependencies first, in a fresh interpreter.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import llm_insights

PACKAGE = Path(llm_insights.__file__).parent
NAME = "llm_insights"


def _module_name(path: Path) -> str:
    return NAME if path.stem == "__init__" else f"{NAME}.{path.stem}"


def _sdk_imports(tree: ast.AST) -> list[tuple[str, ast.ImportFrom | ast.Import]]:
    """(imported SDK module, node) for every import of an SDK module anywhere in *tree*."""
    found: list[tuple[str, ast.ImportFrom | ast.Import]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.split(".")[0] != NAME:
                continue
            base = node.module or ""
            if node.level:  # relative: every module is directly in the package
                base = f"{NAME}.{base}" if base else NAME
            if base == NAME:  # ``from . import _state, contract``
                found += [(f"{NAME}.{a.name}", node) for a in node.names]
            else:
                found.append((base, node))
        elif isinstance(node, ast.Import):
            found += [(a.name, node) for a in node.names if a.name.split(".")[0] == NAME]
    return found


def _trees() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in PACKAGE.glob("*.py")}


def _graph() -> dict[str, set[str]]:
    trees = _trees()
    return {
        name: {dep for dep, _ in _sdk_imports(tree) if dep in trees and dep != name}
        for name, tree in trees.items()
    }


def test_the_sdk_module_graph_is_acyclic() -> None:
    graph = _graph()
    assert f"{NAME}._guard" in graph and f"{NAME}._state" in graph  # the graph was read
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_guard_is_a_leaf() -> None:
    """Every module reports failures through ``_guard``: it may import only the contract."""
    assert _graph()[f"{NAME}._guard"] <= {f"{NAME}.contract"}


def test_no_sdk_module_imports_another_inside_a_function() -> None:
    """Function-level imports of SDK modules are how cycles hide; third-party ones may stay."""
    lazy = []
    for name, tree in _trees().items():
        top = {id(node) for node in tree.body}
        for dep, node in _sdk_imports(tree):
            if id(node) not in top and not _under_type_checking(tree, node):
                lazy.append(f"{name}:{node.lineno} imports {dep}")
    assert lazy == []


def _under_type_checking(tree: ast.Module, node: ast.AST) -> bool:
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.If)
            and getattr(stmt.test, "id", getattr(stmt.test, "attr", None)) == "TYPE_CHECKING"
            and any(node is n for n in ast.walk(stmt))
        ):
            return True
    return False


def test_each_module_imports_with_only_its_dependencies_loaded() -> None:
    """In a fresh interpreter, without the package ``__init__`` (which imports everything),
    each module imports after only the modules the graph says it needs: the graph read above
    is the real one (no import hidden from ``ast``), and no module relies on import order."""
    order = [m for m in graphlib.TopologicalSorter(_graph()).static_order() if m != NAME]
    script = f"""
import importlib, sys, types
package = types.ModuleType({NAME!r})
package.__path__ = [{str(PACKAGE)!r}]
sys.modules[{NAME!r}] = package
for name in {order!r}:
    before = {{m for m in sys.modules if m.startswith({NAME + "."!r})}}
    importlib.import_module(name)
    after = {{m for m in sys.modules if m.startswith({NAME + "."!r})}}
    assert after == before | {{name}}, (name, sorted(after - before - {{name}}))
print("imported", len(sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported")
