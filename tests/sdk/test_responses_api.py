"""The Responses API through the real openai client against the loopback stand-in: recorded like
chat (span, usage, cost, finish reason, quality), streamed events timed, nothing injected."""

from __future__ import annotations

import asyncio
import json

import llm_insights
import openai
import pytest
from llm_insights import contract as c

from llm_insights_kit.fake_openai.scripted import Scripted

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("instrumented_openai")]

responses = pytest.importorskip("openai.resources.responses", reason="openai without Responses")


def test_response_span_usage_cost_and_metrics(telemetry, stand, openai_client):
    stand.script(Scripted(text="Take 200 mg.", input_tokens=12, output_tokens=4))
    resp = openai_client.responses.create(model="gpt-4o", input="Dose?", max_output_tokens=50)
    assert resp.output_text == "Take 200 mg."  # the app gets the response untouched
    a = telemetry.span("chat gpt-4o").attributes
    assert a[c.GEN_AI_OPERATION_NAME] == c.OPERATION_CHAT
    assert a[c.GEN_AI_REQUEST_MAX_TOKENS] == 50  # from max_output_tokens
    assert (a[c.GEN_AI_RESPONSE_ID], a[c.GEN_AI_RESPONSE_MODEL]) == (resp.id, "gpt-4o")
    assert a[c.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (12, 4)
    assert a[c.MS_COST_INPUT] == pytest.approx(12 * 0.0025 / 1000)
    assert a[c.MS_COST_OUTPUT] == pytest.approx(4 * 0.01 / 1000)
    assert telemetry.total(c.OPERATION_DURATION.name) == 1
    assert telemetry.total(c.TOKEN_USAGE.name, gen_ai__token__type="input") == 1
    # the output_text parts feed the quality signals
    assert telemetry.sum(c.RESPONSE_LENGTH.name) == len("Take 200 mg.")


def test_cached_input_tokens_are_priced(telemetry, stand, openai_client):
    stand.script(Scripted(input_tokens=2000, output_tokens=10, cached_tokens=1536))
    openai_client.responses.create(model="gpt-4o", input="x")
    a = telemetry.span().attributes
    assert c.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS not in a  # in the cost below; no reader
    assert a[c.MS_COST_INPUT] == pytest.approx((464 * 0.0025 + 1536 * 0.00125) / 1000)


@pytest.mark.parametrize(
    ("scripted", "reason"),
    [("length", "length"), ("content_filter", "content_filter"), ("tool_calls", "tool_calls")],
)
def test_status_maps_to_a_finish_reason(telemetry, stand, openai_client, scripted, reason):
    stand.script(Scripted(finish_reason=scripted))
    openai_client.responses.create(model="gpt-4o", input="x")
    assert telemetry.span().attributes[c.GEN_AI_RESPONSE_FINISH_REASONS] == (reason,)
    if reason == "content_filter":
        assert telemetry.total(c.CONTENT_FILTER_HITS.name) == 1


def test_failed_response_is_an_error(telemetry, stand, openai_client):
    stand.script(Scripted(finish_reason="failed"))
    resp = openai_client.responses.create(model="gpt-4o", input="x")
    assert resp.status == "failed"
    span = telemetry.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[c.ATTR_ERROR_TYPE] == "server_error"
    assert telemetry.total(c.OPERATION_DURATION.name, error__type="server_error") == 1


def test_stream_events_timed_usage_from_the_last_event_nothing_injected(
    telemetry, stand, openai_client
):
    stand.script(Scripted(text="one two three", input_tokens=7, output_tokens=3))
    events = list(openai_client.responses.create(model="gpt-4o", input="x", stream=True))
    assert events[-1].type == "response.completed"  # the app sees every event
    assert "stream_options" not in stand.requests[-1].body
    a = telemetry.span().attributes
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (7, 3)
    assert a[c.ATTR_STREAM_CHUNKS] == 3 and a[c.ATTR_STREAM_END] == c.STREAM_END_COMPLETED
    assert a[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert a[c.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert telemetry.sum(c.RESPONSE_LENGTH.name) == len("one two three")


def test_stream_helper_left_early_is_recorded_as_closed(telemetry, stand, openai_client):
    stand.script(Scripted(text="a b c d e f", chunk_interval=0.01))
    with openai_client.responses.stream(model="gpt-4o", input="x") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                break
    a = telemetry.span().attributes  # recorded at the `with` exit, not at garbage collection
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_CLOSED
    assert c.GEN_AI_USAGE_INPUT_TOKENS not in a and a[c.ATTR_USAGE_KNOWN] is False


def test_async_create_and_stream(telemetry, stand):
    async def run() -> None:
        client = openai.AsyncOpenAI(base_url=stand.base_url, api_key="test", max_retries=0)
        await client.responses.create(model="gpt-4o", input="x")
        stream = await client.responses.create(model="gpt-4o", input="x", stream=True)
        async for _ in stream:
            pass
        await client.close()

    asyncio.run(run())
    spans = telemetry.spans("chat gpt-4o")
    assert len(spans) == 2
    assert all(s.attributes[c.GEN_AI_USAGE_OUTPUT_TOKENS] > 0 for s in spans)
    assert spans[1].attributes[c.ATTR_STREAM_END] == c.STREAM_END_COMPLETED


def test_content_capture_reads_instructions_and_input(telemetry, stand, openai_client):
    llm_insights.configure("svc", capture_content=True)
    stand.script(Scripted(text="Take 200 mg."))
    openai_client.responses.create(
        model="gpt-4o",
        instructions="Be brief.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Dose?"}]}],
    )
    a = telemetry.span().attributes
    sent = json.loads(a[c.GEN_AI_INPUT_MESSAGES])
    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[1]["parts"] == [{"type": "text", "content": "Dose?"}]
    assert "Take 200 mg." in a[c.GEN_AI_OUTPUT_MESSAGES]


def test_uninstrument_removes_the_responses_patches(telemetry, stand, openai_client):
    llm_insights.uninstrument_openai()
    openai_client.responses.create(model="gpt-4o", input="x")
    assert telemetry.spans() == []
