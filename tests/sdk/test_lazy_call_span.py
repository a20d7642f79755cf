"""A patched openai call the head sampler drops starts a non-recording span; only a call the
keep policy keeps (failed, slow) gets its span, made at the end with the call's own start, end,
parent, attributes and events, and counted once. Where something needs the kit's span recorded
while the call runs (a recorded parent, another GenAI instrumentation inside), it is recorded
from the start as before (``_call.LLMCall._start_lazy``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import llm_insights
import openai
import pytest
import wrapt
from llm_insights import _keep, _offload, _sampler, _state
from llm_insights import contract as c
from support.otel import EndedSpans, Telemetry, dropping_sampler, sending_to

from llm_insights_kit.fake_openai.scripted import Scripted

_MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def dropped() -> Iterator[tuple[Telemetry, EndedSpans]]:
    ended = EndedSpans()
    pipe = Telemetry(genai=True, sampler=_sampler.record_genai_spans(dropping_sampler()))
    pipe.tracer_provider.add_span_processor(ended)
    with sending_to(pipe) as p:
        assert llm_insights.instrument_openai()
        yield p, ended


def _chat(client: Any, **kw: Any) -> Any:
    out = client.chat.completions.create(model="gpt-4o", messages=_MESSAGES, **kw)
    if kw.get("stream"):
        out = list(out)
    _offload.drain()
    return out


def test_dropped_fast_call_records_no_span_metrics_stay(
    dropped: tuple[Telemetry, EndedSpans], openai_client: Any, stand: Any
) -> None:
    pipe, ended = dropped
    _keep.configure(slow_seconds=1000)
    stand.script(Scripted(input_tokens=10, output_tokens=2))
    _chat(openai_client)
    assert [s.name for s in ended.spans if s.name.startswith("chat")] == []
    assert pipe.spans() == []
    assert pipe.total(c.OPERATION_DURATION.name) == 1
    assert pipe.sum(c.TOKEN_USAGE.name, gen_ai__token__type="input") == 10


def test_failed_call_span_made_at_the_end_kept_once(
    dropped: tuple[Telemetry, EndedSpans], openai_client: Any, stand: Any
) -> None:
    pipe, _ = dropped
    _keep.configure(slow_seconds=1000)
    stand.script(Scripted(status=500, error_message="boom"))
    with pytest.raises(openai.InternalServerError):
        _chat(openai_client)
    [span] = pipe.spans()
    assert span.name == "chat gpt-4o"
    assert span.context.trace_flags.sampled
    assert span.attributes[c.ATTR_KEPT_FOR] == c.KEPT_FOR_ERROR
    assert span.attributes[_keep.SAMPLE_RATE_KEY] == 100.0  # itemCount 1
    assert span.attributes[c.ATTR_ERROR_TYPE] == "500"
    assert span.attributes[c.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert span.attributes[c.SERVER_ADDRESS] == "127.0.0.1"
    assert span.status.status_code.name == "ERROR"
    assert [e.name for e in span.events] == ["exception"]
    assert span.start_time <= span.events[0].timestamp <= span.end_time
    assert pipe.total(c.OPERATION_DURATION.name, error__type="500") == 1


def test_slow_call_span_has_the_call_times_and_every_attribute(
    dropped: tuple[Telemetry, EndedSpans], openai_client: Any, stand: Any
) -> None:
    pipe, _ = dropped
    _keep.configure(slow_seconds=0.05)
    stand.script(Scripted(input_tokens=10, output_tokens=2, latency=0.1))
    _chat(openai_client, stream=True)
    [span] = pipe.spans()
    assert span.attributes[c.ATTR_KEPT_FOR] == c.KEPT_FOR_SLOW
    assert span.end_time - span.start_time > 0.1e9
    assert span.attributes[c.GEN_AI_USAGE_INPUT_TOKENS] == 10
    assert span.attributes[c.GEN_AI_RESPONSE_ID]
    assert span.attributes[c.GEN_AI_REQUEST_STREAM] is True
    [first] = [e for e in span.events if e.name == c.EVENT_FIRST_CHUNK]
    assert span.start_time + 0.1e9 <= first.timestamp <= span.end_time
    assert span.parent is None


def test_kept_call_under_a_dropped_app_span_keeps_its_parent(
    dropped: tuple[Telemetry, EndedSpans], openai_client: Any, stand: Any
) -> None:
    pipe, _ = dropped
    _keep.configure(slow_seconds=1000)
    stand.script(Scripted(status=429, error_message="slow down"))
    with pipe.tracer_provider.get_tracer("app").start_as_current_span("request") as app:
        assert not app.is_recording()
        with pytest.raises(openai.RateLimitError):
            _chat(openai_client)
    [span] = pipe.spans()
    assert span.parent.span_id == app.get_span_context().span_id
    assert span.context.trace_id == app.get_span_context().trace_id


def test_recorded_parent_keeps_the_span_recorded(
    dropped: tuple[Telemetry, EndedSpans], openai_client: Any, stand: Any
) -> None:
    _, ended = dropped
    _keep.configure(slow_seconds=1000)
    stand.script(Scripted(input_tokens=10, output_tokens=2))
    with llm_insights.agent("triage"):
        _chat(openai_client)
    assert [s.name for s in ended.spans if s.name.startswith("chat")] == ["chat gpt-4o"]


def test_another_instrumentation_inside_keeps_the_span_recorded(
    openai_client: Any, stand: Any
) -> None:
    """A wrapper patched in before the kit's runs inside the kit's call: its GenAI span needs
    the kit's span recorded to be told apart (``_span_metrics``)."""
    from openai.resources.chat.completions import Completions

    ended = EndedSpans()
    pipe = Telemetry(genai=True, sampler=_sampler.record_genai_spans(dropping_sampler()))
    pipe.tracer_provider.add_span_processor(ended)
    original = Completions.__dict__["create"]
    wrapt.wrap_function_wrapper(Completions, "create", lambda w, i, a, k: w(*a, **k))
    try:
        with sending_to(pipe):
            assert llm_insights.instrument_openai()
            stand.script(Scripted(input_tokens=10, output_tokens=2))
            _chat(openai_client)
    finally:
        Completions.create = original
    assert [s.name for s in ended.spans] == ["chat gpt-4o"]
    assert pipe.total(c.OPERATION_DURATION.name) == 1


def test_after_a_foreign_genai_span_kit_spans_are_recorded(
    dropped: tuple[Telemetry, EndedSpans], openai_client: Any, stand: Any
) -> None:
    pipe, ended = dropped
    _keep.configure(slow_seconds=1000)
    attrs = {c.GEN_AI_OPERATION_NAME: "chat", c.GEN_AI_REQUEST_MODEL: "gpt-4o"}
    pipe.tracer_provider.get_tracer("other.genai").start_span("chat gpt-4o", attributes=attrs).end()
    assert _state.foreign_genai
    stand.script(Scripted(input_tokens=10, output_tokens=2))
    _chat(openai_client)
    assert len([s for s in ended.spans if s.name == "chat gpt-4o"]) == 2
