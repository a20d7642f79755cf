"""Contract metrics from any instrumentation's GenAI spans: every semconv release 1.28..today,
each call counted once, sampling-proof (``llm_insights._span_metrics``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import llm_insights
import pytest
from llm_insights import _semconv_compat as sc
from llm_insights import _span_metrics
from llm_insights import contract as c
from opentelemetry.context import get_current
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from support.otel import Telemetry, sending_to

FOREIGN = "opentelemetry.instrumentation.some_genai"


def _pipeline(sampler: Any = ALWAYS_ON) -> Telemetry:
    """The GenAI processor before an in-memory exporter and the sampler wrapped, as
    configure() installs them before the distro's batch processor."""
    return Telemetry(genai=True, sampler=_span_metrics.record_genai_spans(sampler))


def _foreign(pipe: Telemetry) -> Any:
    """A tracer of another GenAI instrumentation."""
    return pipe.tracer_provider.get_tracer(FOREIGN)


@pytest.fixture
def pipe() -> Iterator[Telemetry]:
    with sending_to(_pipeline()) as p:
        yield p


def _release_attrs(release: str, **values: Any) -> dict[str, Any]:
    names = sc.RELEASES[release]
    return {names[k]: v for k, v in values.items() if names[k] is not None}


@pytest.mark.parametrize("release", list(sc.RELEASES))
def test_each_release_gives_the_contract_metrics(pipe: Telemetry, release: str) -> None:
    provider = "az.ai.openai" if sc.RELEASES[release][sc.PROVIDER] == "gen_ai.system" else None
    start = _release_attrs(
        release,
        operation="chat",
        provider=provider or c.PROVIDER_AZURE_OPENAI,
        request_model="gpt-4o",
        server_address="example.openai.azure.com",
    )
    span = _foreign(pipe).start_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes=start,
                                   start_time=1_000_000_000)  # fmt: skip
    span.set_attributes(
        _release_attrs(
            release,
            response_model="gpt-4o-2024-08-06",
            input_tokens=1000,
            output_tokens=200,
            cache_read_input_tokens=400,
            time_to_first_chunk=0.4,
        )
    )
    span.end(end_time=1_000_000_000 + 1_700_000_000)  # 1.7 s
    dims = {
        "gen_ai__provider__name": c.PROVIDER_AZURE_OPENAI,
        "gen_ai__request__model": "gpt-4o",
        "gen_ai__response__model": "gpt-4o-2024-08-06",
        "server__address": "example.openai.azure.com",
    }
    assert pipe.total(c.OPERATION_DURATION.name, **dims) == 1
    assert pipe.total(c.DURATION_BUCKET_COUNTS.name, llm_insights__bucket__le="2", **dims) == 1
    assert pipe.total(c.TOKEN_USAGE.name, gen_ai__token__type="input", **dims) == 1
    [inp] = [
        p for p in pipe.points(c.TOKEN_USAGE.name) if p.attributes["gen_ai.token.type"] == "input"
    ]
    assert inp.sum == 1000
    cached = 400 if sc.RELEASES[release][sc.CACHED_INPUT_TOKENS] else 0
    # gpt-4o: 0.0025 / 1K input, 0.00125 / 1K cached input, 0.01 / 1K output
    want_in = ((1000 - cached) * 0.0025 + cached * 0.00125) / 1000
    assert pipe.total(c.COST.name, gen_ai__token__type="input") == pytest.approx(want_in)
    assert pipe.total(c.COST.name, gen_ai__token__type="output") == pytest.approx(0.002)
    has_ttft = sc.RELEASES[release][sc.TIME_TO_FIRST_CHUNK] is not None
    assert pipe.total(c.TTFT_BUCKET_COUNTS.name, llm_insights__bucket__le="0.5") == has_ttft
    assert pipe.total(c.UNPRICED_CALLS.name) == 0


def test_mapping_table_covers_1_28_to_1_41_and_reads_old_usage_names() -> None:
    assert next(iter(sc.RELEASES)) == "1.28" and "1.41" in sc.RELEASES
    assert sc.RELEASES["1.36"][sc.PROVIDER] == "gen_ai.system"
    assert sc.RELEASES["1.37"][sc.PROVIDER] == c.GEN_AI_PROVIDER_NAME
    got = sc.read({"gen_ai.usage.prompt_tokens": 3, "gen_ai.usage.completion_tokens": 4,
                   "gen_ai.system": "openai"})  # fmt: skip
    assert got == {sc.INPUT_TOKENS: 3, sc.OUTPUT_TOKENS: 4, sc.PROVIDER: "openai"}
    assert sc.read({"error.type": "openai.RateLimitError"}) == {sc.ERROR_TYPE: "429"}
    assert sc.read({"error.type": "TimeoutError"}) == {sc.ERROR_TYPE: "TimeoutError"}
    # a span carrying both names: today's wins
    both = {"gen_ai.system": "az.ai.openai", "gen_ai.provider.name": "openai"}
    assert sc.read(both)[sc.PROVIDER] == "openai"


def test_errors_unpriced_and_unknown_usage(pipe: Telemetry) -> None:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
             "gen_ai.request.model": "no-such-model"}  # fmt: skip
    with _foreign(pipe).start_as_current_span("chat", attributes=attrs) as s:
        s.set_attributes({"gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 1})
    with _foreign(pipe).start_as_current_span("chat", attributes=attrs) as s:
        s.set_attribute("error.type", "429")
    s2 = _foreign(pipe).start_span("chat", attributes=attrs)
    s2.set_status(Status(StatusCode.ERROR))
    s2.end()
    assert pipe.total(c.OPERATION_DURATION.name) == 3
    assert pipe.total(c.OPERATION_DURATION.name, error__type="429") == 1
    assert pipe.total(c.OPERATION_DURATION.name, error__type=c.ERROR_TYPE_OTHER) == 1
    assert pipe.total(c.UNPRICED_CALLS.name) == 1  # usage unknown on the failures: not unpriced
    assert pipe.total(c.COST.name) == 0


def test_non_inference_spans_are_not_llm_calls(pipe: Telemetry) -> None:
    for op in ("invoke_agent", "execute_tool", None):
        attrs = {"gen_ai.operation.name": op} if op else {"http.method": "GET"}
        _foreign(pipe).start_span("x", attributes=attrs).end()
    assert pipe.total(c.OPERATION_DURATION.name) == 0


def test_tool_spans_give_tool_metrics_once(pipe: Telemetry) -> None:
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"}
    _foreign(pipe).start_span("execute_tool lookup", attributes=tool).end()
    failed = _foreign(pipe).start_span("execute_tool lookup", attributes=tool)
    failed.set_attribute("error.type", "TimeoutError")
    failed.end()
    # the kit's tool span inside a foreign one: it counts, not both
    outer = _foreign(pipe).start_as_current_span("execute_tool lookup", attributes=tool)
    with outer, llm_insights.tool("lookup"):
        pass
    assert pipe.total(c.TOOL_DURATION.name, gen_ai__tool__name="lookup") == 3
    assert pipe.total(c.TOOL_DURATION.name, error__type="TimeoutError") == 1


def _usage_on_exported(pipe: Telemetry) -> list[int]:
    return [
        s.attributes[c.GEN_AI_USAGE_INPUT_TOKENS]
        for s in pipe.spans_exporter.get_finished_spans()
        if c.GEN_AI_USAGE_INPUT_TOKENS in (s.attributes or {})
    ]


def _foreign_call(pipe: Telemetry, inner: Any = None, tracer: Any = None) -> None:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
             "gen_ai.request.model": "gpt-4o"}  # fmt: skip
    with (tracer or _foreign(pipe)).start_as_current_span("chat gpt-4o", attributes=attrs) as s:
        if inner is not None:
            inner()
        s.set_attributes({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2})


def _kit_call(inner: Any = None) -> None:
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        if inner is not None:
            inner()
        call.record_usage(input_tokens=10, output_tokens=2)


def test_innermost_foreign_span_counts(pipe: Telemetry) -> None:
    wrapper = pipe.tracer_provider.get_tracer("agent_framework")
    _foreign_call(pipe, inner=lambda: _foreign_call(pipe), tracer=wrapper)
    assert pipe.total(c.OPERATION_DURATION.name) == 1
    assert pipe.total(c.COST.name) == pytest.approx((10 * 0.0025 + 2 * 0.01) / 1000)
    assert _usage_on_exported(pipe) == [10]  # the outer span is exported without usage
    outer = next(
        s
        for s in pipe.spans_exporter.get_finished_spans()
        if s.instrumentation_scope.name == "agent_framework"
    )
    assert outer.attributes[c.ATTR_COUNTED_ELSEWHERE] is True


@pytest.mark.parametrize("kit_outside", [True, False], ids=["kit-outside", "kit-inside"])
def test_kit_span_and_foreign_span_count_once(pipe: Telemetry, kit_outside: bool) -> None:
    if kit_outside:
        _kit_call(inner=lambda: _foreign_call(pipe))
    else:
        _foreign_call(pipe, inner=_kit_call)
    _foreign_call(pipe)  # and one call only the foreign instrumentation sees
    assert pipe.total(c.OPERATION_DURATION.name) == 2
    assert pipe.total(c.TOKEN_USAGE.name, gen_ai__token__type="output") == 2
    assert pipe.total(c.COST.name) == pytest.approx(2 * (10 * 0.0025 + 2 * 0.01) / 1000)
    assert _usage_on_exported(pipe) == [10, 10]
    kit = [s for s in pipe.spans_exporter.get_finished_spans() if s.instrumentation_scope.name
           == "llm_insights"]  # fmt: skip
    assert kit[0].attributes[c.GEN_AI_USAGE_INPUT_TOKENS] == 10  # the kit's span keeps its usage


def test_foreign_gen_ai_client_metrics_are_dropped_and_the_kits_kept(pipe: Telemetry) -> None:
    foreign = pipe.meter_provider.get_meter("opentelemetry.util.genai")
    foreign.create_histogram(c.OPERATION_DURATION.name, unit="s").record(1.0, {"x": "y"})
    _kit_call()
    assert pipe.total(c.OPERATION_DURATION.name) == 1
    [p] = pipe.points(c.OPERATION_DURATION.name)
    assert "x" not in p.attributes


@pytest.mark.parametrize("inner", ["always_off", "azure_ratio_0", "azure_rate_limited"])
def test_dropped_genai_spans_are_recorded_not_exported(inner: str) -> None:
    from azure.monitor.opentelemetry.exporter.export.trace._sampling import (
        ApplicationInsightsSampler,
    )

    samplers = {
        "always_off": ParentBased(ALWAYS_OFF),
        "azure_ratio_0": ApplicationInsightsSampler(0.0),
        "azure_rate_limited": _rate_limited_at_zero(),
    }
    with sending_to(_pipeline(samplers[inner])) as pipe:
        app = pipe.tracer_provider.get_tracer("app")
        with app.start_as_current_span("GET /chat", kind=SpanKind.SERVER):
            _foreign_call(pipe)
            # an HTTP span under the LLM span, its parent passed explicitly (Azure's samplers
            # follow a recorded parent's sample rate only then)
            _kit_call(inner=lambda: app.start_span("POST", context=get_current()).end())
        _foreign_call(pipe)  # a root GenAI span: the sampler's own DROP
        assert pipe.total(c.OPERATION_DURATION.name) == 3
        assert pipe.spans_exporter.get_finished_spans() == ()  # nothing of the dropped trace


def _rate_limited_at_zero() -> Any:
    from azure.monitor.opentelemetry.exporter.export.trace._rate_limited_sampling import (
        RateLimitedSampler,
    )

    return RateLimitedSampler(0.0)


def test_sampled_traces_stay_whole() -> None:
    with sending_to(_pipeline(ParentBased(ALWAYS_ON))) as pipe:
        _kit_call(inner=lambda: pipe.tracer_provider.get_tracer("http").start_span("POST").end())
        assert len(pipe.spans_exporter.get_finished_spans()) == 2


def test_sampler_wrap_is_idempotent() -> None:
    once = _span_metrics.record_genai_spans(ALWAYS_ON)
    assert _span_metrics.record_genai_spans(once) is once
    assert "GenAIRecording" in once.get_description()


def test_install_sampler_wraps_in_place_for_tracers_made_before() -> None:
    """The distro's instrumentations hold tracers made before configure() wraps the sampler."""
    tp = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    early = tp.get_tracer("opentelemetry.instrumentation.httpx")
    assert _span_metrics.install_sampler(tp) and _span_metrics.install_sampler(tp)
    span = early.start_span("chat", attributes={c.GEN_AI_OPERATION_NAME: "chat"})
    assert span.is_recording() and not span.get_span_context().trace_flags.sampled
    assert "GenAIRecording{GenAIRecording" not in tp.sampler.get_description()


def test_install_sampler_leaves_opentelemetrys_shared_samplers_alone() -> None:
    tp = TracerProvider(sampler=ALWAYS_OFF)  # what the distro returns for always_off
    assert _span_metrics.install_sampler(tp)
    assert not getattr(ALWAYS_OFF, "_llm_insights_genai", False)
    assert "GenAIRecording" not in ALWAYS_OFF.get_description()
    span = tp.get_tracer("x").start_span("chat", attributes={c.GEN_AI_OPERATION_NAME: "chat"})
    assert span.is_recording() and not span.get_span_context().trace_flags.sampled


CALL_USD = (10 * 2.5 + 2 * 10.0) / 1e6  # one _foreign_call/_kit_call at gpt-4o's list price


def _foreign_agent(pipe: Telemetry, name: str, body: Any, fail: bool = False) -> None:
    attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name}
    with _foreign(pipe).start_as_current_span(
        f"invoke_agent {name}",
        attributes=attrs,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        body()
        if fail:
            span.set_status(Status(StatusCode.ERROR))
            span.set_attribute("error.type", "MaxTurnsExceeded")


def _foreign_tool(pipe: Telemetry, name: str) -> None:
    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
    _foreign(pipe).start_span(f"execute_tool {name}", attributes=attrs).end()


def test_foreign_agent_spans_give_agent_runs(pipe: Telemetry) -> None:
    """A framework's invoke_agent span is a run: its calls (foreign or the kit's), tools and
    nested agents count for it, and the nested agent is a run of its own."""

    def inner() -> None:
        _foreign_call(pipe)
        _foreign_tool(pipe, "search")

    def outer() -> None:
        _foreign_call(pipe)
        _kit_call()
        _foreign_tool(pipe, "lookup")
        _foreign_agent(pipe, "researcher", inner)

    _foreign_agent(pipe, "planner", outer, fail=True)

    planner = {"gen_ai__agent__name": "planner"}
    assert pipe.total(c.AGENT_DURATION.name, **planner) == 1
    assert pipe.total(c.AGENT_DURATION.name, error__type="MaxTurnsExceeded", **planner) == 1
    assert pipe.sum(c.AGENT_MODEL_CALLS.name, **planner) == 3
    assert pipe.sum(c.AGENT_TOOL_CALLS.name, **planner) == 2
    assert pipe.sum(c.AGENT_TOKENS.name, gen_ai__token__type="input", **planner) == 30
    assert pipe.sum(c.AGENT_COST.name, **planner) == pytest.approx(3 * CALL_USD)
    researcher = {"gen_ai__agent__name": "researcher"}
    assert pipe.sum(c.AGENT_STEPS.name, **researcher) == 2
    assert pipe.sum(c.AGENT_COST.name, **researcher) == pytest.approx(CALL_USD)
    # tool calls by the innermost run; the calls themselves once each
    assert pipe.total(c.TOOL_DURATION.name, gen_ai__tool__name="search", **researcher) == 1
    assert pipe.total(c.TOOL_DURATION.name, gen_ai__tool__name="lookup", **planner) == 1
    assert pipe.total(c.OPERATION_DURATION.name) == 3


def test_foreign_agent_cost_unknown_when_a_call_is_unpriced(pipe: Telemetry) -> None:
    def body() -> None:
        _foreign_call(pipe)
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "no-such-model",
                 "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 1}  # fmt: skip
        _foreign(pipe).start_span("chat", attributes=attrs).end()

    _foreign_agent(pipe, "a", body)
    assert pipe.sum(c.AGENT_COST_UNKNOWN.name, gen_ai__agent__name="a") == 1
    assert pipe.points(c.AGENT_COST.name) == []  # never a partial total
    assert pipe.sum(c.AGENT_TOKENS.name, gen_ai__token__type="input") == 15


@pytest.mark.parametrize(
    "kit_outside", [True, False], ids=["kit-agent-outside", "kit-agent-inside"]
)
def test_kit_and_foreign_agents_nested_count_each_call_once(
    pipe: Telemetry, kit_outside: bool
) -> None:
    """Kit agent() inside a framework agent, or around one: every run counts the kit's call and
    the framework's call below it exactly once."""

    def calls() -> None:
        _kit_call()
        _foreign_call(pipe)

    if kit_outside:
        with llm_insights.agent("kit"):
            _foreign_agent(pipe, "framework", calls)
    else:

        def kit_agent() -> None:
            with llm_insights.agent("kit"):
                calls()

        _foreign_agent(pipe, "framework", kit_agent)

    for name in ("kit", "framework"):
        who = {"gen_ai__agent__name": name}
        assert pipe.total(c.AGENT_DURATION.name, **who) == 1, name
        assert pipe.sum(c.AGENT_MODEL_CALLS.name, **who) == 2, name
        assert pipe.sum(c.AGENT_TOKENS.name, gen_ai__token__type="input", **who) == 20, name
        assert pipe.sum(c.AGENT_COST.name, **who) == pytest.approx(2 * CALL_USD), name
    assert pipe.total(c.OPERATION_DURATION.name) == 2
