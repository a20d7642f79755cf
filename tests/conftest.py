"""Fixtures shared by every test area: the SDK's in-memory telemetry pipeline
(``support/otel.py``). Being the root conftest, it also puts ``tests/`` on sys.path, so test
modules import the shared helpers as ``support.*``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.otel import Telemetry, sending_to


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """The SDK's spans, metrics and logs, in memory; the SDK reset around the test."""
    with sending_to(Telemetry()) as t:
        yield t


@pytest.fixture
def genai_telemetry() -> Iterator[Telemetry]:
    """``telemetry`` plus what ``configure()`` installs for other instrumentations' GenAI spans
    (the span processor and the views dropping their duplicate metrics)."""
    with sending_to(Telemetry(genai=True)) as t:
        yield t
