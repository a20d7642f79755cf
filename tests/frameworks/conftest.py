"""The framework matrix (``make test-frameworks``, which ``make test`` calls): each framework's
app runs with that framework's environment first on PYTHONPATH and LLM_INSIGHTS_FRAMEWORK naming
it. Without LLM_INSIGHTS_FRAMEWORK (the main run, where no framework is installed) the folder is
not collected; with it, a missing package is an import error, so the target cannot pass by
running nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).parent
FRAMEWORK_ENV = "LLM_INSIGHTS_FRAMEWORK"

collect_ignore_glob = [] if os.environ.get(FRAMEWORK_ENV) else ["test_*.py"]


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if Path(str(item.path)).is_relative_to(_HERE):
            item.add_marker(pytest.mark.frameworks)
