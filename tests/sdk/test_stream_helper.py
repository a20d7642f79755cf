"""``client.chat.completions.stream(...)``: openai's event-stream helper over
``create(stream=True)``. One span per call with the right usage, the app's events and final
completion unchanged, and an early ``with`` exit recorded as closed right then (not at GC)."""

from __future__ import annotations

import asyncio

import llm_insights
import openai
import pytest
from llm_insights import contract as c

from llm_insights_kit.fake_openai.scripted import Scripted

pytestmark = pytest.mark.e2e

MSG = [{"role": "user", "content": "What is the dose of ibuprofen?"}]


def _helper(client) -> bool:
    return hasattr(client.chat.completions, "stream")


def _run_sync(client, **kw):
    with client.chat.completions.stream(model="gpt-4o", messages=MSG, **kw) as s:
        events = [e.type for e in s]
        final = s.get_final_completion()
    return events, final


def test_one_span_with_usage_and_app_sees_the_same(telemetry, stand, openai_client):
    if not _helper(openai_client):
        pytest.skip(f"openai {openai.__version__} has no chat.completions.stream")
    stand.script(Scripted(text="Take 200 mg.", input_tokens=11, output_tokens=3))
    stand.script(Scripted(text="Take 200 mg.", input_tokens=11, output_tokens=3))
    llm_insights.instrument_openai()
    events, final = _run_sync(openai_client)
    llm_insights.uninstrument_openai()
    plain_events, plain_final = _run_sync(openai_client)

    assert events == plain_events  # the app's event sequence is unchanged
    assert final.choices[0].message.content == plain_final.choices[0].message.content
    assert final.usage is None and plain_final.usage is None  # the injected usage stays hidden
    a = telemetry.span("chat gpt-4o").attributes  # exactly one span for the instrumented call
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (11, 3)
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_COMPLETED
    assert a[c.GEN_AI_REQUEST_STREAM] is True
    assert a[c.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert a[c.MS_COST_INPUT] == pytest.approx(11 * 0.0025 / 1000)
    assert telemetry.total(c.OPERATION_DURATION.name) == 1
    assert telemetry.total(c.TIME_TO_FIRST_CHUNK.name) == 1
    assert stand.requests[0].body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in stand.requests[1].body


def test_usage_requested_by_the_app_reaches_it(telemetry, stand, openai_client):
    if not _helper(openai_client):
        pytest.skip(f"openai {openai.__version__} has no chat.completions.stream")
    stand.script(Scripted(text="ok", input_tokens=7, output_tokens=2))
    llm_insights.instrument_openai()
    _, final = _run_sync(openai_client, stream_options={"include_usage": True})
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (7, 2)
    a = telemetry.span().attributes
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (7, 2)


def test_early_exit_is_recorded_closed_at_exit(telemetry, stand, openai_client):
    if not _helper(openai_client):
        pytest.skip(f"openai {openai.__version__} has no chat.completions.stream")
    stand.script(Scripted(text="one two three four five", input_tokens=5))
    llm_insights.instrument_openai()
    with openai_client.chat.completions.stream(model="gpt-4o", messages=MSG) as s:
        for event in s:
            if event.type == "content.delta":
                break
    # `s` is still referenced: the span was ended by the with-exit, not by garbage collection
    a = telemetry.span().attributes
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_CLOSED
    assert s is not None


def test_async_helper_complete_and_closed_early(telemetry, stand):
    client = openai.AsyncOpenAI(base_url=stand.base_url, api_key="t", max_retries=0)
    if not _helper(client):
        pytest.skip(f"openai {openai.__version__} has no chat.completions.stream")
    llm_insights.instrument_openai()

    async def main() -> tuple[str, object]:
        stand.script(Scripted(text="a b c", input_tokens=4, output_tokens=3))
        async with client.chat.completions.stream(model="gpt-4o-mini", messages=MSG) as s:
            async for _ in s:
                pass
            final = await s.get_final_completion()
        stand.script(Scripted(text="d e f g", input_tokens=4))
        async with client.chat.completions.stream(model="gpt-4o", messages=MSG) as s2:
            async for _ in s2:
                break
        await client.close()
        return final.choices[0].message.content, s2

    text, _keep = asyncio.run(main())
    assert text == "a b c"
    done = telemetry.span("chat gpt-4o-mini").attributes
    assert (done[c.GEN_AI_USAGE_INPUT_TOKENS], done[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (4, 3)
    assert done[c.ATTR_STREAM_END] == c.STREAM_END_COMPLETED
    assert telemetry.span("chat gpt-4o").attributes[c.ATTR_STREAM_END] == c.STREAM_END_CLOSED
    assert telemetry.total(c.OPERATION_DURATION.name) == 2


def test_helper_manager_is_still_the_openai_type(telemetry, stand, openai_client):
    if not _helper(openai_client):
        pytest.skip(f"openai {openai.__version__} has no chat.completions.stream")
    from openai.lib.streaming.chat import ChatCompletionStreamManager

    llm_insights.instrument_openai()
    stand.script(Scripted(text="x"))
    manager = openai_client.chat.completions.stream(model="gpt-4o", messages=MSG)
    assert isinstance(manager, ChatCompletionStreamManager)
    with manager as s:
        assert "".join(e.delta for e in s if e.type == "content.delta") == "x"
