"""What the openai instrumentation records in the less-travelled paths: abandoned streams'
end time, the output/input ratio, Azure deployments taken from the client URL, async raw
responses."""

from __future__ import annotations

import asyncio
import gc
import inspect
import time

import openai
import pytest
from llm_insights import contract as c

from llm_insights_kit.fake_openai.scripted import Scripted

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("instrumented_openai")]

MSG = [{"role": "user", "content": "What is the dose of ibuprofen?"}]


def test_abandoned_stream_duration_ends_at_last_chunk_not_at_gc(telemetry, stand, openai_client):
    stand.script(Scripted(text="a b c d e f g h", chunk_interval=0.01))
    t0 = time.perf_counter()
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    next(iter(stream))
    to_chunk = time.perf_counter() - t0
    time.sleep(0.3)  # the app walks away; the stream is collected later
    del stream
    gc.collect()
    a = telemetry.span().attributes
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_ABANDONED
    [dur] = telemetry.points(c.OPERATION_DURATION.name)
    assert dur.count == 1
    assert dur.sum <= to_chunk + 0.05  # up to the last chunk seen, not the 0.3 s after it


def test_azure_deployment_from_client_url(telemetry, stand):
    client = openai.AzureOpenAI(
        azure_endpoint=stand.azure_endpoint,
        azure_deployment="chat-prod",
        api_key="test",
        api_version="2024-10-21",
        max_retries=0,
    )
    client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert stand.requests[-1].deployment == "chat-prod"
    a = telemetry.span().attributes
    assert a[c.ATTR_DEPLOYMENT] == "chat-prod"
    assert a[c.GEN_AI_REQUEST_MODEL] == "gpt-4o"  # what the caller passed
    assert a[c.GEN_AI_PROVIDER_NAME] == c.PROVIDER_AZURE_OPENAI
    [dur] = telemetry.points(c.OPERATION_DURATION.name)
    assert dur.attributes[c.ATTR_DEPLOYMENT] == "chat-prod"
    assert dur.attributes[c.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    usage = telemetry.points(c.TOKEN_USAGE.name)
    assert usage and all(p.attributes[c.ATTR_DEPLOYMENT] == "chat-prod" for p in usage)


def test_async_with_raw_response_unchanged_and_recorded(telemetry, stand):
    stand.script(Scripted(text="raw", input_tokens=2, output_tokens=1))

    async def main():
        client = openai.AsyncOpenAI(base_url=stand.base_url, api_key="test", max_retries=0)
        raw = await client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG)
        assert raw.http_response.status_code == 200
        # openai's raw response parses synchronously on async clients too (legacy response)
        first = raw.parse()
        first = await first if inspect.isawaitable(first) else first
        assert first.choices[0].message.content == "raw"
        again = raw.parse()
        assert (await again if inspect.isawaitable(again) else again) is first  # cached
        await client.close()

    asyncio.run(main())
    a = telemetry.span("chat gpt-4o").attributes
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (2, 1)
    assert telemetry.total(c.TOKEN_USAGE.name) == 2
