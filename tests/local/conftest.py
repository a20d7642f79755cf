"""Fixtures for the local ingestion/store tests: a store and a running server per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from llm_insights_kit.local.ingest import IngestServer
from llm_insights_kit.local.preview import PreviewResult, render_previews
from llm_insights_kit.local.store import LocalStore

from .synthetic import populate


@pytest.fixture
def store() -> Iterator[LocalStore]:
    with LocalStore() as s:
        yield s


@pytest.fixture
def server(store: LocalStore) -> Iterator[IngestServer]:
    with IngestServer(store) as srv:
        yield srv


PREVIEW_END = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
PREVIEW_RANGE = (PREVIEW_END - timedelta(hours=6), PREVIEW_END)


@pytest.fixture(scope="session")
def stack_previews(tmp_path_factory: pytest.TempPathFactory) -> PreviewResult:
    """The kit's real workbooks rendered over six hours of synthetic telemetry (built once)."""
    from llm_insights_kit.artifacts import RenderContext
    from llm_insights_kit.dashboards import render_workbooks

    out = tmp_path_factory.mktemp("preview")
    with LocalStore() as s:
        populate(s, *PREVIEW_RANGE)
        return render_previews(
            s,
            render_workbooks(RenderContext()),
            out,
            stack="dev",
            time_range=PREVIEW_RANGE,
            store_label="synthetic",
        )
