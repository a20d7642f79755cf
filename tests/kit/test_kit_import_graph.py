"""The kit's modules, and its subpackages as layers, import each other in one direction only.

From the bottom: the shared modules (``errors``, ``paths``, ``tables``, ``artifacts``, …),
``stack_config``, ``kql``, ``dashboards``, ``alerts``, ``lint``, ``fake_openai``, ``local``,
``check``, ``demo``, ``commands``, ``cli``. A subpackage that reaches up into one above it
(``kql`` running the alert loader, ``alerts`` opening a ``local`` store, ``demo`` reading
``commands``) is a cycle between layers even when no two modules import each other, and a
function-level import is how such a cycle hides; both are read from the source
(``support.import_graph``).
"""

from __future__ import annotations

from pathlib import Path

from support import import_graph

import llm_insights_kit

NAME = "llm_insights_kit"


def _modules() -> dict[str, import_graph.Module]:
    return import_graph.read_package(Path(llm_insights_kit.__file__).parent, NAME)


def test_the_kit_module_graph_is_acyclic() -> None:
    graph = import_graph.graph(_modules())
    assert f"{NAME}.alerts.loader" in graph[f"{NAME}.alerts"]  # the graph was read
    assert import_graph.cycle(graph) is None


def test_the_kit_subpackages_are_layers() -> None:
    layers = import_graph.layers(_modules(), depth=2)
    assert {f"{NAME}.alerts", f"{NAME}.local", f"{NAME}.cli"} <= layers.keys()
    assert import_graph.cycle(layers) is None


def test_no_kit_module_imports_another_inside_a_function() -> None:
    assert import_graph.lazy_imports(_modules()) == []


def test_each_module_imports_with_only_its_dependencies_loaded() -> None:
    import_graph.import_each_in_order(_modules())
