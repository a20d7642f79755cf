"""The SDK's modules import each other in one direction only.

A cycle is what made ``_guard`` import ``_state`` inside a function; a lazy import is how the
next one would hide. The graph is read from the source (``support.import_graph``), and each
module is then imported on its own, deepest dependencies first, in a fresh interpreter.
"""

from __future__ import annotations

from pathlib import Path

import llm_insights
from support import import_graph

NAME = "llm_insights"


def _modules() -> dict[str, import_graph.Module]:
    return import_graph.read_package(Path(llm_insights.__file__).parent, NAME)


def test_the_sdk_module_graph_is_acyclic() -> None:
    graph = import_graph.graph(_modules())
    assert f"{NAME}._guard" in graph and f"{NAME}._state" in graph  # the graph was read
    assert import_graph.cycle(graph) is None


def test_guard_is_a_leaf() -> None:
    """Every module reports failures through ``_guard``: it may import only the contract."""
    assert import_graph.graph(_modules())[f"{NAME}._guard"] <= {f"{NAME}.contract"}


def test_no_sdk_module_imports_another_inside_a_function() -> None:
    """Function-level imports of SDK modules are how cycles hide; third-party ones may stay."""
    assert import_graph.lazy_imports(_modules()) == []


def test_each_module_imports_with_only_its_dependencies_loaded() -> None:
    """Without the package ``__init__`` (which imports everything) run first, each module
    imports after only the modules the graph says it needs: the graph read above is the real
    one (no import hidden from ``ast``), and no module relies on import order."""
    import_graph.import_each_in_order(_modules())
