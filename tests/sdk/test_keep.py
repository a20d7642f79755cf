"""Failed and slow GenAI spans kept whatever the head sampler decided, bounded per minute, each
counted once (``llm_insights._keep``), for every source: the kit's calls, ``agent()``/``tool()``
and other instrumentations' GenAI spans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import llm_insights
import pytest
from llm_insights import _config, _keep, _sampler
from llm_insights import contract as c
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from support.otel import Telemetry, sending_to

FOREIGN = "opentelemetry.instrumentation.some_genai"
SECOND = 1_000_000_000


def _dropping_sampler() -> Any:
    """The prod stack's sampler (microsoft.rate_limited) at 0 traces/s: it drops every trace
    and stamps the dropped spans with its sample rate."""
    from azure.monitor.opentelemetry.exporter.export.trace._rate_limited_sampling import (
        RateLimitedSampler,
    )

    return RateLimitedSampler(0.0)


def _pipeline(sampler: Any) -> Telemetry:
    """As configure() wires it: the GenAI processor before the exporter, the sampler wrapped."""
    return Telemetry(genai=True, sampler=_sampler.record_genai_spans(sampler))


@pytest.fixture
def dropped() -> Iterator[Telemetry]:
    with sending_to(_pipeline(_dropping_sampler())) as p:
        yield p


def _kept(pipe: Telemetry) -> list[Any]:
    return [s for s in pipe.spans() if c.ATTR_KEPT_FOR in (s.attributes or {})]


def _foreign_call(
    pipe: Telemetry, *, model: str = "gpt-4o", error: str | None = None, seconds: float = 0.1
) -> None:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
             "gen_ai.request.model": model}  # fmt: skip
    span = pipe.tracer_provider.get_tracer(FOREIGN).start_span(
        f"chat {model}", kind=SpanKind.CLIENT, attributes=attrs, start_time=SECOND
    )
    span.set_attributes({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2})
    if error:
        span.set_attribute("error.type", error)
        span.set_status(Status(StatusCode.ERROR))
    span.end(SECOND + int(seconds * SECOND))


def _failing_kit_call(error: type[Exception] = TimeoutError) -> None:
    with pytest.raises(error), llm_insights.llm_call(provider="openai", model="gpt-4o"):
        raise error("upstream")


def _kit_call() -> None:
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_usage(input_tokens=10, output_tokens=2)


def test_failed_kit_call_is_kept_and_counts_once(dropped: Telemetry) -> None:
    _keep.configure(slow_seconds=1000)
    _kit_call()
    _failing_kit_call()
    [span] = dropped.spans()
    assert span.attributes[c.ATTR_KEPT_FOR] == c.KEPT_FOR_ERROR
    assert span.attributes[c.ATTR_ERROR_TYPE] == "TimeoutError"
    assert span.context.trace_flags.sampled
    # the sampler stamped 0 % on the dropped span; kept, it stands for itself (itemCount 1)
    assert span.attributes[_keep.SAMPLE_RATE_KEY] == 100.0
    assert dropped.total(c.OPERATION_DURATION.name) == 2  # metrics unchanged: every call once
    assert dropped.total(c.OPERATION_DURATION.name, error__type="TimeoutError") == 1
    assert dropped.total(c.KEPT_DROPPED.name) == 0


def test_slow_calls_are_kept_fast_ones_not(dropped: Telemetry) -> None:
    _keep.configure(slow_seconds=2.0)
    _foreign_call(dropped, seconds=1.9)
    _foreign_call(dropped, seconds=2.5)
    [span] = dropped.spans()
    assert span.attributes[c.ATTR_KEPT_FOR] == c.KEPT_FOR_SLOW
    assert span.end_time - span.start_time == int(2.5 * SECOND)
    assert dropped.total(c.OPERATION_DURATION.name) == 2


def test_head_sampled_spans_are_not_marked_or_capped() -> None:
    with sending_to(_pipeline(ParentBased(ALWAYS_ON))) as pipe:
        _keep.configure(per_minute=1)
        for _ in range(3):
            _foreign_call(pipe, error="500")
        assert len(pipe.spans()) == 3
        assert _kept(pipe) == []
        assert pipe.total(c.KEPT_DROPPED.name) == 0


def test_burst_of_failures_stays_within_the_cap_per_reason_and_model(dropped: Telemetry) -> None:
    _keep.configure(per_minute=5)
    for _ in range(40):
        _foreign_call(dropped, error="429")
        _foreign_call(dropped, error="500")
        _foreign_call(dropped, model="gpt-4o-mini", error="429")
    kept = _kept(dropped)
    by_key: dict[tuple[str, str], int] = {}
    for s in kept:
        key = (s.attributes["error.type"], s.attributes["gen_ai.request.model"])
        by_key[key] = by_key.get(key, 0) + 1
    assert by_key == {("429", "gpt-4o"): 5, ("500", "gpt-4o"): 5, ("429", "gpt-4o-mini"): 5}
    assert dropped.total(c.KEPT_DROPPED.name) == 3 * 35
    assert (
        dropped.sum(
            c.KEPT_DROPPED.name,
            llm_insights__kept_for="error",
            error__type="429",
            gen_ai__request__model="gpt-4o-mini",
        )
        == 35
    )
    assert dropped.total(c.OPERATION_DURATION.name) == 120  # counts stay exact


def test_the_cap_holds_in_any_60_seconds() -> None:
    now = [0.0]
    limiter = _keep.Limiter(clock=lambda: now[0])
    key = ("500", "m")
    assert limiter.admit(key, 2)
    now[0] = 30.0
    assert [limiter.admit(key, 2) for _ in range(2)] == [True, False]
    now[0] = 59.9  # no fresh allowance at a minute boundary
    assert not limiter.admit(key, 2)
    now[0] = 60.0  # the first admission is a minute old: one more
    assert [limiter.admit(key, 2) for _ in range(2)] == [True, False]
    assert limiter.admit(("429", "m"), 2)  # per reason
    assert limiter.admit(("500", "other-model"), 2)  # per model
    assert not _keep.Limiter().admit(key, 0)  # 0 keeps none


def test_distinct_keys_are_bounded() -> None:
    limiter = _keep.Limiter(clock=lambda: 0.0)
    admitted = sum(limiter.admit((f"E{i}", "m"), 1) for i in range(_keep._MAX_KEYS + 50))
    assert admitted == _keep._MAX_KEYS + 1  # the rest share one allowance
    now = [0.0]
    limiter = _keep.Limiter(clock=lambda: now[0])
    assert all(limiter.admit((f"E{i}", "m"), 1) for i in range(_keep._MAX_KEYS))
    now[0] = 60.0  # idle keys are forgotten: a new key gets its own allowance again
    assert limiter.admit(("new", "m"), 1) and not limiter.admit(("new", "m"), 1)


def test_failed_tool_and_its_agent_run_are_kept(dropped: Telemetry) -> None:
    with pytest.raises(RuntimeError), llm_insights.agent("planner"):
        _kit_call()  # succeeds: not kept
        with llm_insights.tool("lookup"):
            raise RuntimeError("tool broke")
    kept = {s.attributes[c.GEN_AI_OPERATION_NAME]: s for s in _kept(dropped)}
    assert set(kept) == {c.OPERATION_EXECUTE_TOOL, c.OPERATION_INVOKE_AGENT}
    tool, run = kept[c.OPERATION_EXECUTE_TOOL], kept[c.OPERATION_INVOKE_AGENT]
    assert tool.parent.span_id == run.context.span_id  # the transaction holds both
    assert run.attributes[c.ATTR_KEPT_FOR] == c.KEPT_FOR_ERROR


def test_agent_run_comes_with_a_failed_call_it_survived(dropped: Telemetry) -> None:
    """The run succeeded (it retried); its failed call is kept, and the run with it."""
    with llm_insights.agent("planner"):
        _failing_kit_call()
        _kit_call()
    kept = sorted(s.attributes[c.GEN_AI_OPERATION_NAME] for s in _kept(dropped))
    assert kept == [c.OPERATION_CHAT, c.OPERATION_INVOKE_AGENT]
    assert dropped.total(c.AGENT_DURATION.name) == 1
    assert dropped.total(c.AGENT_DURATION.name, error__type="TimeoutError") == 0


def test_foreign_agent_and_its_failed_chat_are_kept(dropped: Telemetry) -> None:
    tracer = dropped.tracer_provider.get_tracer(FOREIGN)
    agent_attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage"}
    with tracer.start_as_current_span("invoke_agent triage", attributes=agent_attrs):
        _foreign_call(dropped)  # fine: not kept
        _foreign_call(dropped, error="500")
    kept = sorted(s.name for s in _kept(dropped))
    assert kept == ["chat gpt-4o", "invoke_agent triage"]
    assert dropped.total(c.OPERATION_DURATION.name) == 2


def test_nothing_kept_when_nothing_fails(dropped: Telemetry) -> None:
    with llm_insights.agent("planner"):
        _kit_call()
        with llm_insights.tool("lookup"):
            pass
    _foreign_call(dropped)
    assert dropped.spans() == []


def test_policy_from_arguments_environment_and_defaults(monkeypatch: Any) -> None:
    p = _keep.policy_from()
    assert (p.per_minute, p.slow_seconds) == (
        c.DEFAULT_KEEP_PER_MINUTE,
        c.DEFAULT_KEEP_SLOW_SECONDS,
    )
    monkeypatch.setenv(c.ENV_KEEP_PER_MINUTE, "12")
    monkeypatch.setenv(c.ENV_KEEP_SLOW_SECONDS, "4")
    p = _keep.policy_from()
    assert (p.per_minute, p.slow_seconds) == (12, 4.0)
    p = _keep.policy_from(3, 8)
    assert (p.per_minute, p.slow_seconds) == (3, 8.0)
    monkeypatch.setenv(c.ENV_KEEP_PER_MINUTE, "lots")
    assert _keep.policy_from().per_minute == c.DEFAULT_KEEP_PER_MINUTE


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"keep_per_minute": -1}, "keep_per_minute=-1"),
        ({"keep_per_minute": 2.5}, "keep_per_minute=2.5"),
        ({"keep_slow_seconds": 0}, "keep_slow_seconds=0"),
        ({"keep_slow_seconds": "5"}, "keep_slow_seconds='5'"),
    ],
)
def test_bad_keep_options_are_named(kwargs: dict[str, Any], named: str) -> None:
    try:
        with pytest.raises(llm_insights.ConfigurationError, match=named.replace(".", r"\.")):
            llm_insights.configure("svc", strict=True, **kwargs)
    finally:
        _config._reset_for_tests()
        _keep.reset()


def test_never_raises_into_the_app(dropped: Telemetry) -> None:
    class Broken:
        context = property(lambda self: 1 / 0)

    _keep.on_end(Broken())  # counted as an SDK failure, never raised


def test_always_off_sampler_too() -> None:
    with sending_to(_pipeline(ParentBased(ALWAYS_OFF))) as pipe:
        _failing_kit_call(ValueError)
        [span] = pipe.spans()
        assert span.attributes[c.ATTR_KEPT_FOR] == c.KEPT_FOR_ERROR
