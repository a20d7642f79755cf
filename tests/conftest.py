"""Fixtures shared by every test area: the SDK's in-memory telemetry pipeline
(``support/otel.py``) and the package-index probe. Being the root conftest, it also puts
``tests/`` on sys.path, so test modules import the shared helpers as ``support.*``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.grouping import GROUPS_FILE_ENV, order_and_publish, scheduler
from support.otel import Telemetry, sending_to

from llm_insights_kit.local import translations

_SCRATCH = pytest.StashKey[Path]()


def _distributed(config: pytest.Config) -> bool:
    return config.getoption("dist", "no") == "loadscope" and bool(
        config.getoption("numprocesses", None)
    )


def pytest_configure(config: pytest.Config) -> None:
    """Once per run, in the controller (xdist's workers and every command a test starts inherit
    the environment): the KQL translations are kept in a directory of this run's, not in the
    user's cache, so each run starts cold; under ``make test``'s ``-n … --dist loadscope``, the
    workers report their groups to a file named here (``support/grouping.py``)."""
    if hasattr(config, "workerinput"):
        return
    scratch = Path(tempfile.mkdtemp(prefix="llm-insights-tests-"))
    config.stash[_SCRATCH] = scratch
    os.environ.setdefault(translations.CACHE_ENV, str(scratch / "kql"))
    if _distributed(config):
        os.environ[GROUPS_FILE_ENV] = str(scratch / "groups.json")


def pytest_unconfigure(config: pytest.Config) -> None:
    scratch = config.stash.get(_SCRATCH, None)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    return scheduler(config, log) if _distributed(config) else None


@pytest.hookimpl(trylast=True)  # after every folder's hook has marked its items slow
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput") and os.environ.get(GROUPS_FILE_ENV):
        order_and_publish(items)


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
    certificates, bypassing its cache) for what those tests fetch: the build backend of the SDK's
    wheel and the SDK's own dependencies at their locked versions."""
    repo = Path(__file__).resolve().parents[1]
    sdk = tomllib.loads((repo / "sdk" / "pyproject.toml").read_text())["project"]
    wanted = {
        re.split(r"[<>=!~\[;]", dep, maxsplit=1)[0].strip().lower()
        for dep in [*sdk["dependencies"], *sdk["optional-dependencies"]["openai"]]
    }
    pins = [
        line.strip()
        for line in (repo / "requirements.lock").read_text().splitlines()
        if line.split("==")[0].strip().lower() in wanted
    ]
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-cache-dir", "--dest", str(tmp_path_factory.mktemp("index-probe")),
         "setuptools>=68", *pins],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"the package index is unreachable (offline?): {last}")
