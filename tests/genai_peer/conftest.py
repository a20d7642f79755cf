"""Tests with the real peer GenAI instrumentations from PyPI (``requirements.txt`` here).

They run in ``make test-genai-peer`` (which ``make test`` calls) with the peer packages first on
PYTHONPATH (``-m genai_peer``). Elsewhere they are not collected, unless
LLM_INSIGHTS_EXPECT_GENAI_PEER is set, which makes a missing package an import error instead (so
the Makefile target cannot pass by running nothing).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).parent
PEER = "opentelemetry.instrumentation.genai.openai"


def _available() -> bool:
    try:
        return importlib.util.find_spec(PEER) is not None
    except ModuleNotFoundError:
        return False


# without the peer packages the modules cannot even be imported: leave them out of collection
# (the main run), unless the Makefile target said they must be there
collect_ignore_glob = (
    [] if _available() or os.environ.get("LLM_INSIGHTS_EXPECT_GENAI_PEER") else ["test_*.py"]
)


def pytest_collection_modifyitems(items: list[Any]) -> None:
    # a conftest hook sees the whole session's items: mark only this folder's
    for item in items:
        if Path(str(item.path)).is_relative_to(_HERE):
            item.add_marker(pytest.mark.genai_peer)
