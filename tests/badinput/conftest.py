"""Bad-input fixtures: the SDK's in-memory telemetry with openai patched, and an openai client
whose HTTP answers are whatever JSON (or bytes) a test hands it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import llm_insights
import openai
import pytest
from support.otel import Telemetry, sending_to


@pytest.fixture
def pipeline() -> Iterator[Telemetry]:
    """The SDK's in-memory telemetry (the shared pipeline), with openai patched."""
    with sending_to(Telemetry()) as t:
        llm_insights.instrument_openai()
        yield t


def completion(**over: Any) -> dict[str, Any]:
    """A well-formed chat completion body; keyword arguments replace top-level fields."""
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Take 200 mg."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
    }
    body.update(over)
    return body


def client_answering(body: Any) -> openai.OpenAI:
    """An openai client whose every request is answered 200 with *body* (JSON, or raw bytes)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=raw, headers={"content-type": "application/json"})

    return openai.OpenAI(
        base_url="http://llm.invalid/v1",
        api_key="test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


MESSAGES = [{"role": "user", "content": "max dose?"}]
