"""Fixtures for workbook and KQL tests: rendered artifacts, a local store, the Kusto LS gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.dashboards import render_workbooks
from llm_insights_kit.kql import service
from llm_insights_kit.local.store import LocalStore

# The stack-independent context golden files are rendered with.
GOLDEN_CTX = RenderContext(
    stack="golden", environment="golden", daily_budget_usd=100.0, config_file="golden"
)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RANGE = (NOW - timedelta(days=1), NOW)


@pytest.fixture(scope="session")
def golden_workbooks():
    return render_workbooks(GOLDEN_CTX)


@pytest.fixture()
def store():
    with LocalStore(":memory:") as s:
        yield s


@pytest.fixture(scope="session")
def kusto_available() -> None:
    if not service.available():
        pytest.fail("node or @kusto/language-service-next missing: run `make setup`")
