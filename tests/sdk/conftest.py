"""SDK test fixtures: the loopback LLM stand-in and openai clients on it (the in-memory
telemetry pipeline, ``telemetry``, is shared by every area: ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm_insights
import pytest
from support.otel import Telemetry

# Tests that drive the real openai client against the loopback stand-in: the ones the openai
# 1.x/2.x compatibility run selects (`-m openai_compat` with another openai first on PYTHONPATH).
_STANDIN_FIXTURES = frozenset({"stand", "fake_openai", "openai_client", "azure_client"})


_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[Any]) -> None:
    # a conftest hook sees the whole session's items: mark only this folder's
    for item in items:
        if not Path(str(item.path)).is_relative_to(_HERE):
            continue
        if _STANDIN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.openai_compat)


@pytest.fixture
def instrumented_openai(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The openai client patched for this test (the telemetry fixture removes the patches)."""
    assert llm_insights.instrument_openai()
    yield telemetry


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[Any]:
    from llm_insights_kit.fake_openai.server import FakeOpenAI

    with FakeOpenAI(deployments={"chat-prod": "gpt-4o-2024-08-06"}) as srv:
        yield srv


@pytest.fixture
def stand(fake_openai: Any) -> Iterator[Any]:
    fake_openai.reset()
    yield fake_openai
    fake_openai.reset()


@pytest.fixture
def openai_client(stand: Any) -> Any:
    import openai

    return openai.OpenAI(base_url=stand.base_url, api_key="test", max_retries=0)


@pytest.fixture
def azure_client(stand: Any) -> Any:
    import openai

    return openai.AzureOpenAI(
        azure_endpoint=stand.azure_endpoint,
        api_key="test",
        api_version="2024-10-21",
        max_retries=0,
    )
