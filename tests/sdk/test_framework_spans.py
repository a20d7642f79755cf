"""Framework span shapes, counted right: spans that start bare and get their attributes later
(Agent Framework's ``start_span(name, kind)`` then ``set_attributes``), non-GenAI spans between
an agent and its calls (Semantic Kernel's ``AutoFunctionInvocationLoop``), wrapper exceptions
as ``error.type``, usage summed on the agent span, a URL as ``server.address`` — built with the
real OpenTelemetry SDK the way those frameworks' telemetry code builds them (agent-framework-core
``observability.py`` ``_get_span``; semantic-kernel ``connectors/ai/chat_completion_client_base.py``
and ``utils/telemetry/model_diagnostics/decorators.py``). The real frameworks run in the
framework matrix; these pin the shapes down in the SDK's own tests.

And one call record: the same call through the kit's ``llm_call()`` and as another
instrumentation's span records identical metrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import llm_insights
import openai
import pytest
from llm_insights import _span_metrics
from llm_insights import contract as c
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from support.otel import Telemetry, sending_to

GPT4O_IN, GPT4O_OUT = 0.0025 / 1000, 0.01 / 1000  # shipped price of gpt-4o, USD per token


def _pipeline(sampler: Any) -> Telemetry:
    return Telemetry(genai=True, sampler=_span_metrics.record_genai_spans(sampler))


@pytest.fixture(params=[ALWAYS_ON, ALWAYS_OFF], ids=["kept", "dropped-by-sampler"])
def pipe(request: Any) -> Iterator[Telemetry]:
    with sending_to(_pipeline(request.param)) as p:
        yield p


@pytest.fixture
def kept() -> Iterator[Telemetry]:
    with sending_to(_pipeline(ALWAYS_ON)) as p:
        yield p


def _tracer(pipe: Telemetry, name: str = "agent_framework") -> Any:
    return pipe.tracer_provider.get_tracer(name)


def _bare(tracer: Any, name: str, attrs: dict[str, Any], kind: Any = SpanKind.INTERNAL) -> Any:
    """A span started the way Agent Framework starts its own: no attributes at start."""
    span = tracer.start_span(name, kind=kind)
    span.set_attributes(attrs)
    return span


def _chat(tracer: Any, usage: tuple[int, int] | None = (100, 20), **extra: Any) -> None:
    """One Agent Framework chat span (bare start), current while it runs."""
    span = _bare(tracer, "chat gpt-4o", {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o", **extra,
    }, SpanKind.CLIENT)  # fmt: skip
    with llm_insights_use(span):
        if usage is not None:
            span.set_attributes(
                {"gen_ai.usage.input_tokens": usage[0], "gen_ai.usage.output_tokens": usage[1]}
            )
    span.end()


def _tool(tracer: Any) -> None:
    with tracer.start_as_current_span(
        "execute_tool lookup",
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"},
    ):
        pass


def llm_insights_use(span: Any) -> Any:
    from opentelemetry import trace

    return trace.use_span(span, end_on_exit=False)


def _agent_run(tracer: Any, body: Any, usage: tuple[int, int] | None = None) -> Any:
    """An Agent Framework invoke_agent span (bare start); *usage*: the sum it sets at the end."""
    span = _bare(tracer, "invoke_agent triage", {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage",
        "gen_ai.provider.name": "microsoft.agent_framework",
    })  # fmt: skip
    with llm_insights_use(span):
        body()
    if usage is not None:
        span.set_attributes(
            {"gen_ai.usage.input_tokens": usage[0], "gen_ai.usage.output_tokens": usage[1]}
        )
    span.end()
    return span


def test_bare_started_agent_framework_runs_are_counted_under_any_sampler(pipe: Telemetry) -> None:
    t = _tracer(pipe)

    def body() -> None:
        _chat(t)
        _tool(t)
        _chat(t)

    _agent_run(t, body, usage=(200, 40))  # the framework's sum of its two chats
    assert pipe.total(c.OPERATION_DURATION.name) == 2  # the agent span's usage is not a call
    assert pipe.sum(c.TOKEN_USAGE.name, gen_ai__token__type="input") == 200
    assert pipe.total(c.AGENT_DURATION.name, gen_ai__agent__name="triage") == 1
    assert pipe.sum(c.AGENT_MODEL_CALLS.name) == 2
    assert pipe.sum(c.AGENT_TOOL_CALLS.name) == 1
    assert pipe.sum(c.AGENT_TOKENS.name, gen_ai__token__type="input") == 200
    assert pipe.sum(c.AGENT_TOKENS.name, gen_ai__token__type="output") == 40
    assert pipe.sum(c.AGENT_COST.name) == pytest.approx(200 * GPT4O_IN + 40 * GPT4O_OUT)
    assert pipe.total(c.AGENT_COST_UNKNOWN.name) == 0
    assert pipe.total(c.TOOL_DURATION.name, gen_ai__agent__name="triage") == 1


def test_exported_framework_agent_span_carries_run_totals_not_summed_usage(kept: Telemetry) -> None:
    t = _tracer(kept)
    _agent_run(t, lambda: (_chat(t), _chat(t)), usage=(200, 40))
    [agent] = kept.spans("invoke_agent triage")
    a = agent.attributes
    assert a[c.ATTR_AGENT_MODEL_CALLS] == 2 and a[c.ATTR_AGENT_TOOL_CALLS] == 0
    assert a[c.ATTR_AGENT_TOKENS] == 240
    assert a[c.ATTR_AGENT_COST] == pytest.approx(200 * GPT4O_IN + 40 * GPT4O_OUT)
    assert a[c.ATTR_MAIN_AGENT_NAME] == "triage"
    # Azure's views sum gen_ai.usage.* over dependencies: the chats carry it, once
    assert c.GEN_AI_USAGE_INPUT_TOKENS not in a and a[c.ATTR_COUNTED_ELSEWHERE] is True
    chats = kept.spans("chat gpt-4o")
    assert [s.attributes[c.GEN_AI_USAGE_INPUT_TOKENS] for s in chats] == [100, 100]


def test_a_remote_agents_own_usage_stays_and_its_cost_is_unknown(kept: Telemetry) -> None:
    _agent_run(_tracer(kept), lambda: None, usage=(300, 50))  # no call seen in this process
    [agent] = kept.spans("invoke_agent triage")
    assert agent.attributes[c.GEN_AI_USAGE_INPUT_TOKENS] == 300  # the only copy: kept
    assert agent.attributes[c.ATTR_AGENT_TOKENS] == 350
    assert c.ATTR_AGENT_COST not in agent.attributes
    assert kept.total(c.OPERATION_DURATION.name) == 0
    assert kept.total(c.AGENT_COST_UNKNOWN.name) == 1 and kept.total(c.AGENT_COST.name) == 0


def test_calls_behind_non_genai_spans_belong_to_the_run(pipe: Telemetry) -> None:
    """Semantic Kernel: invoke_agent -> AutoFunctionInvocationLoop -> chat / execute_tool."""
    sk = _tracer(pipe, "semantic_kernel")

    def body() -> None:
        with sk.start_as_current_span("AutoFunctionInvocationLoop"):
            _chat(sk)
            _tool(sk)
            _chat(sk)

    with sk.start_as_current_span(
        "invoke_agent helper",
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"},
    ):
        body()
    assert pipe.sum(c.AGENT_MODEL_CALLS.name, gen_ai__agent__name="helper") == 2
    assert pipe.sum(c.AGENT_TOOL_CALLS.name) == 1
    assert pipe.sum(c.AGENT_STEPS.name) == 3
    assert pipe.sum(c.AGENT_COST.name) == pytest.approx(200 * GPT4O_IN + 40 * GPT4O_OUT)
    assert pipe.total(c.TOOL_DURATION.name, gen_ai__agent__name="helper") == 1


def test_a_failed_run_with_a_call_of_unknown_usage_has_unknown_cost(pipe: Telemetry) -> None:
    t = _tracer(pipe)

    def body() -> None:
        _chat(t)
        _chat(t, usage=None, **{"error.type": "ChatClientException"})
        raise RuntimeError("the agent gave up")

    with pytest.raises(RuntimeError):
        span = _bare(t, "invoke_agent triage", {"gen_ai.operation.name": "invoke_agent",
                                                "gen_ai.agent.name": "triage"})  # fmt: skip
        with _use_and_fail(span):
            body()
    assert pipe.total(c.AGENT_DURATION.name, error__type=c.ERROR_TYPE_OTHER) == 1
    assert pipe.total(c.AGENT_COST_UNKNOWN.name) == 1
    assert pipe.total(c.AGENT_COST.name) == 0  # unknown, never $0
    assert pipe.sum(c.AGENT_MODEL_CALLS.name) == 2


def _use_and_fail(span: Any) -> Any:
    from opentelemetry import trace

    return trace.use_span(span, end_on_exit=True)  # records the exception, sets ERROR


def _rate_limited() -> openai.RateLimitError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    return openai.RateLimitError(
        "Error code: 429 - {'error': {'message': 'slow down'}}",
        response=httpx.Response(429, request=request),
        body=None,
    )


class ChatClientException(Exception):  # the shape of Agent Framework's wrapper
    def __init__(self, message: str, inner_exception: Exception | None = None) -> None:
        super().__init__(message, inner_exception)


def test_a_wrapper_exception_is_read_through_to_the_http_status(pipe: Telemetry) -> None:
    t = _tracer(pipe)
    # Agent Framework: error.type is the wrapper's class; the span ends while it propagates
    with pytest.raises(ChatClientException):
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
        span = _bare(t, "chat gpt-4o", attrs, SpanKind.CLIENT)
        with llm_insights_use_end(span):
            try:
                raise _rate_limited()
            except openai.RateLimitError as exc:
                span.set_attribute("error.type", "ChatClientException")
                span.set_status(Status(StatusCode.ERROR))
                raise ChatClientException("service failed", exc) from exc
    # Semantic Kernel: error.type is str(type(error)), the status description repr(error)
    sk = t.start_span("chat gpt-4o", attributes={"gen_ai.operation.name": "chat"})
    sk.set_attribute(
        "error.type",
        "<class 'semantic_kernel.exceptions.service_exceptions.ServiceResponseException'>",
    )
    sk.set_status(
        Status(StatusCode.ERROR, "ServiceResponseException(\"failed\", RateLimitError("
        "\"Error code: 429 - {'error': {}}\"))")
    )  # fmt: skip
    sk.end()
    # an HTTP status on the span itself, and a 5xx through a cause chain
    h = t.start_span("chat gpt-4o", attributes={"gen_ai.operation.name": "chat"})
    h.set_attributes({"error.type": "WrapperError", "http.response.status_code": 503})
    h.end()
    # a wrapper with no status anywhere keeps its own name
    w = t.start_span("chat gpt-4o", attributes={"gen_ai.operation.name": "chat"})
    w.set_attribute("error.type", "ChatClientException")
    w.end()
    assert pipe.total(c.OPERATION_DURATION.name, error__type=c.ERROR_TYPE_THROTTLED) == 2
    assert pipe.total(c.OPERATION_DURATION.name, error__type="503") == 1
    assert pipe.total(c.OPERATION_DURATION.name, error__type="ChatClientException") == 1


def llm_insights_use_end(span: Any) -> Any:
    from opentelemetry import trace

    return trace.use_span(span, end_on_exit=True, record_exception=False,
                          set_status_on_exception=False)  # fmt: skip


def test_the_kits_error_type_reads_through_wrappers_too() -> None:
    from llm_insights._errors import error_type_of

    try:
        try:
            raise _rate_limited()
        except openai.RateLimitError as exc:
            raise ChatClientException("service failed", exc) from exc
    except ChatClientException as wrapped:
        assert error_type_of(wrapped) == "429"
    assert error_type_of(ValueError("x")) == "ValueError"


def test_a_url_as_server_address_is_recorded_as_its_host(pipe: Telemetry) -> None:
    t = _tracer(pipe, "semantic_kernel")
    _chat(t, **{"server.address": "https://example.openai.azure.com/openai/"})
    assert pipe.total(c.OPERATION_DURATION.name, server__address="example.openai.azure.com") == 1


def _points(pipe: Telemetry) -> dict[str, list[tuple]]:
    """Every metric point as comparable values: attributes, and count/sum or value."""
    out: dict[str, list[tuple]] = {}
    for name, points in pipe.all_points().items():
        rows = []
        for p in points:
            attrs = tuple(sorted(dict(p.attributes).items()))
            if hasattr(p, "count"):
                rows.append((attrs, p.count, p.sum, tuple(p.bucket_counts)))
            else:
                rows.append((attrs, p.value))
        out[name] = sorted(rows, key=repr)
    return out


def test_a_kit_call_and_the_same_call_from_a_foreign_span_record_identical_metrics() -> None:
    """One call record: the kit's llm_call() and another instrumentation's span of the same call
    fill the same Call and go through the same record(), so every metric is the same."""
    with sending_to(_pipeline(ALWAYS_ON)) as kit:
        started = time.time_ns()
        with llm_insights.llm_call(
            provider="openai", model="gpt-4o", server_address="api.openai.com", stream=True
        ) as call:
            call.record_chunk("Hel")
            call.record_response(model="gpt-4o-2024-08-06", id="r1")
            call.record_usage(1000, 200, cached_input_tokens=400, reasoning_output_tokens=50)
        [span] = kit.spans()
        ttft = span.attributes[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
        [duration] = [p.sum for p in kit.points(c.OPERATION_DURATION.name)]
        kit_points = _points(kit)
    with sending_to(_pipeline(ALWAYS_ON)) as foreign:
        tracer = foreign.tracer_provider.get_tracer("opentelemetry.instrumentation.genai")
        s = tracer.start_span("chat gpt-4o", kind=SpanKind.CLIENT, start_time=started, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o", "server.address": "api.openai.com",
        })  # fmt: skip
        s.set_attributes({
            "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.response.id": "r1",
            "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 200,
            "gen_ai.usage.cache_read.input_tokens": 400,
            "gen_ai.usage.reasoning.output_tokens": 50,
            "gen_ai.response.time_to_first_chunk": ttft,
        })  # fmt: skip
        s.end(end_time=started + round(duration * 1e9))
        foreign_points = _points(foreign)
    # what the kit reads from the response text (quality) is beyond a span's attributes
    for spec in (c.RESPONSE_LENGTH, c.RESPONSE_LENGTH_BUCKET_COUNTS):
        assert kit_points.pop(spec.name)
    assert set(kit_points) == set(foreign_points)
    assert c.COST.name in kit_points and c.TTFT_BUCKET_COUNTS.name in kit_points
    for name, rows in kit_points.items():
        other = foreign_points[name]
        if name == c.OPERATION_DURATION.name:  # the span's clock is integral nanoseconds
            [(attrs, count, total, buckets)] = rows
            [(attrs2, count2, total2, buckets2)] = other
            assert (attrs, count, buckets) == (attrs2, count2, buckets2)
            assert total == pytest.approx(total2, abs=1e-9)
        else:
            assert rows == other, name


def test_a_5xx_client_error_class_is_read_as_its_status(pipe: Telemetry) -> None:
    """genai-openai writes ``openai.InternalServerError`` (any status >= 500) as error.type and
    ends its span while handling the error: the status is the error's own."""
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    t = _tracer(pipe, "opentelemetry.instrumentation.genai_openai")
    span = t.start_span("chat gpt-4o", attributes={"gen_ai.operation.name": "chat"})
    try:
        raise openai.InternalServerError(
            "Error code: 503", response=httpx.Response(503, request=request), body=None
        )
    except openai.InternalServerError:
        span.set_attribute("error.type", "openai.InternalServerError")
        span.set_status(Status(StatusCode.ERROR))
        span.end()
    assert pipe.total(c.OPERATION_DURATION.name, error__type="503") == 1


def test_a_kit_call_inside_a_framework_run_counts_once_with_its_recorded_cost(
    pipe: Telemetry,
) -> None:
    """Agent Framework's chat span around the kit's own (instrument_openai()): the kit's call
    counts, with the cost it was recorded with, in the framework's run; the framework's chat
    span does not."""
    t = _tracer(pipe)

    def body() -> None:
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
        span = _bare(t, "chat gpt-4o", attrs, SpanKind.CLIENT)
        with llm_insights_use(span):
            with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
                call.record_usage(1000, 100)
            span.set_attributes({"gen_ai.usage.input_tokens": 1000,
                                 "gen_ai.usage.output_tokens": 100})  # fmt: skip
        span.end()

    _agent_run(t, body, usage=(1000, 100))
    assert pipe.total(c.OPERATION_DURATION.name) == 1
    assert pipe.sum(c.AGENT_MODEL_CALLS.name) == 1
    assert pipe.sum(c.AGENT_TOKENS.name, gen_ai__token__type="input") == 1000
    [cost] = [p.sum for p in pipe.points(c.AGENT_COST.name)]
    assert cost == pytest.approx(1000 * GPT4O_IN + 100 * GPT4O_OUT, rel=1e-12)


def test_str_enum_attribute_values_are_read_as_their_strings(pipe: Telemetry) -> None:
    """Agent Framework sets its ``OtelAttr(str, Enum)`` members as attribute values."""
    from enum import Enum

    class OtelAttr(str, Enum):  # noqa: UP042 - the shape Agent Framework uses
        CHAT = "chat"
        TOOL = "execute_tool"

    t = _tracer(pipe)
    span = _bare(t, "chat gpt-4o", {"gen_ai.operation.name": OtelAttr.CHAT,
                                    "gen_ai.request.model": "gpt-4o"})  # fmt: skip
    span.end()
    tool = _bare(t, "execute_tool lookup", {"gen_ai.operation.name": OtelAttr.TOOL,
                                            "gen_ai.tool.name": "lookup"})  # fmt: skip
    tool.end()
    [point] = pipe.points(c.OPERATION_DURATION.name)
    assert type(point.attributes[c.GEN_AI_OPERATION_NAME]) is str
    assert dict(point.attributes)[c.GEN_AI_OPERATION_NAME] == "chat"
    assert pipe.total(c.TOOL_DURATION.name, gen_ai__tool__name="lookup") == 1


class _SamplesAgentsOnly(Sampler):
    """A sampler deciding each span on its own (as a rate limiter may): it keeps agent spans and
    drops the rest, so a sampled agent's non-GenAI child is dropped."""

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if name.startswith("invoke_agent"):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "agents only"


def test_a_dropped_span_between_a_sampled_agent_and_its_calls_keeps_them_linked() -> None:
    with sending_to(_pipeline(_SamplesAgentsOnly())) as pipe:
        sk = _tracer(pipe, "semantic_kernel")
        with (
            sk.start_as_current_span(
                "invoke_agent helper",
                attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"},
            ),
            sk.start_as_current_span("AutoFunctionInvocationLoop"),
        ):
            _chat(sk)
        assert pipe.sum(c.AGENT_MODEL_CALLS.name, gen_ai__agent__name="helper") == 1
        assert [s.name for s in pipe.spans()] == ["invoke_agent helper"]  # what was sampled


def test_the_status_is_read_from_an_exception_event(pipe: Telemetry) -> None:
    """Semantic Kernel records the wrapper as an ``exception`` event whose message names the
    openai error it wraps."""
    t = _tracer(pipe, "semantic_kernel")
    span = t.start_span("chat gpt-4o", attributes={"gen_ai.operation.name": "chat"})
    span.set_attribute(
        "error.type",
        "<class 'semantic_kernel.exceptions.service_exceptions.ServiceResponseException'>",
    )
    span.add_event("exception", {
        "exception.type": "semantic_kernel.exceptions.service_exceptions.ServiceResponseException",
        "exception.message": "(\"<class 'OpenAIChatCompletion'> service failed to complete the "
        "prompt\", InternalServerError('Error code: 502 - bad gateway'))",
    })  # fmt: skip
    span.set_status(Status(StatusCode.ERROR))
    span.end()
    assert pipe.total(c.OPERATION_DURATION.name, error__type="502") == 1
