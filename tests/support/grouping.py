"""How ``make test`` splits the suite over pytest-xdist workers without computing a shared
fixture twice.

A group runs whole on one worker. Tests share state through their module's fixtures and through
a few session fixtures that take tens of seconds (the truth harness's workloads, the Pulumi
program run per stack, the workbook previews), so a group is a file, merged with every other file
that uses one of those fixtures. Groups holding the most slow tests are handed out first, so the
longest group does not start last.

Each worker computes the groups at collection (only a worker sees which fixtures a test uses)
and writes them to a file the controller named in ``GROUPS_FILE_ENV``; the controller's
scheduler (``GroupScheduling``) reads them when it splits the work. xdist's own ``loadgroup``
renames node ids, which the pytest this project pins no longer allows.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

#: Session fixtures that cost tens of seconds each: every test using one runs on one worker.
SHARED_EXPENSIVE_FIXTURES = ("truth_harness", "stack_runs", "stack_previews")
GROUPS_FILE_ENV = "LLM_INSIGHTS_TEST_GROUPS_FILE"


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def groups_of(items: list[pytest.Item]) -> dict[str, str]:
    """Each item's node id → its group (a file, or the files sharing an expensive fixture)."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for item in items:
        file = find(_file_of(item.nodeid))
        for name in SHARED_EXPENSIVE_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                parent[find(file)] = find(f"fixture:{name}")
    return {item.nodeid: find(_file_of(item.nodeid)) for item in items}


def order_and_publish(items: list[pytest.Item]) -> None:
    """On a worker: order *items* group by group, the groups with the most slow-marked tests
    first (the scheduler hands groups out in the order it first sees them), and write the groups
    for the controller. Every worker computes the same order and the same groups."""
    groups = groups_of(items)
    slow: dict[str, int] = defaultdict(int)
    for item in items:
        slow[groups[item.nodeid]] += item.get_closest_marker("slow") is not None
    position = {item.nodeid: i for i, item in enumerate(items)}
    items.sort(key=lambda it: (-slow[groups[it.nodeid]], groups[it.nodeid], position[it.nodeid]))
    target = os.environ.get(GROUPS_FILE_ENV)
    if target:
        tmp = Path(f"{target}.{os.getpid()}")
        tmp.write_text(json.dumps(groups))
        tmp.replace(target)


def scheduler(config: pytest.Config, log: Any) -> Any:
    """The controller's scheduler: xdist's load-by-scope, with a scope being a group."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                target = os.environ.get(GROUPS_FILE_ENV, "")
                self._groups = json.loads(Path(target).read_text()) if target else {}
            return self._groups.get(nodeid, _file_of(nodeid))

    return GroupScheduling(config, log)
