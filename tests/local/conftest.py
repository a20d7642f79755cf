"""Fixtures for the local ingestion/store tests: a store and a running server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llm_insights_kit.local.ingest import IngestServer
from llm_insights_kit.local.store import LocalStore


@pytest.fixture
def store() -> Iterator[LocalStore]:
    with LocalStore() as s:
        yield s


@pytest.fixture
def server(store: LocalStore) -> Iterator[IngestServer]:
    with IngestServer(store) as srv:
        yield srv
