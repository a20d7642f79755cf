"""Fixtures shared by every test area: the SDK's in-memory telemetry pipeline
(``support/otel.py``) and the package-index probe. Being the root conftest, it also puts
``tests/`` on sys.path, so test modules import the shared helpers as ``support.*``."""

from __future__ import annotations

import subprocess
import sys
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


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skips the test unless pip can download from its package index right now: the few tests
    that install into a fresh environment (marked ``index``) are skipped offline, so ``make test``
    after the first set-up needs no network. The probe asks pip itself (its index, proxy and
    certificates) for the build backend the SDK's wheel needs, bypassing pip's cache."""
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-cache-dir", "--dest", str(tmp_path_factory.mktemp("index-probe")),
         "setuptools>=68"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"the package index is unreachable (offline?): {last}")
