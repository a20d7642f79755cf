"""agent(): invoke_agent spans as the GenAI conventions and Azure's Agents view read them, the
run's tally (model calls, tools, tokens, cost from the calls themselves) and the agent metrics."""

from __future__ import annotations

import asyncio

import llm_insights
import pytest
from llm_insights import _state
from llm_insights import contract as c

from llm_insights_kit.fake_openai.scripted import Scripted

MSG = [{"role": "user", "content": "hi"}]


def _attrs(points):
    return [dict(p.attributes) for p in points]


def test_agent_span_attributes_children_and_metrics(telemetry, stand, openai_client):
    llm_insights.instrument_openai()
    stand.script(
        Scripted(input_tokens=100, output_tokens=10, tool_calls=[{"name": "lookup"}]),
        Scripted(input_tokens=200, output_tokens=20),
    )
    ids = llm_insights.attributes(conversation_id="conv-1", user_id="u-1")
    run_ = llm_insights.agent("triage", id="agt-1", version="2", description="Routes questions")
    with ids, run_:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        with llm_insights.tool("lookup", call_id="call_1", arguments={"q": "x"}) as t:
            t.record_result({"price": 3})
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    run = telemetry.span("invoke_agent triage")
    tool = telemetry.span("execute_tool lookup")
    chats = telemetry.spans("chat gpt-4o-mini")
    assert run.kind.name == "INTERNAL"
    a = run.attributes
    assert a[c.GEN_AI_OPERATION_NAME] == c.OPERATION_INVOKE_AGENT
    assert (a[c.GEN_AI_AGENT_NAME], a[c.GEN_AI_AGENT_ID], a[c.GEN_AI_AGENT_VERSION]) == (
        "triage",
        "agt-1",
        "2",
    )
    assert a[c.GEN_AI_AGENT_DESCRIPTION] == "Routes questions"
    assert a[c.GEN_AI_CONVERSATION_ID] == "conv-1" and a[c.ENDUSER_ID] == "u-1"
    assert a[c.ATTR_MAIN_AGENT_NAME] == "triage"
    assert (a[c.ATTR_AGENT_MODEL_CALLS], a[c.ATTR_AGENT_TOOL_CALLS]) == (2, 1)
    assert a[c.ATTR_AGENT_TOKENS] == 330
    # the run's cost is its calls' own span costs, summed (never re-priced)
    call_cost = sum(s.attributes[c.MS_COST_INPUT] + s.attributes[c.MS_COST_OUTPUT] for s in chats)
    assert call_cost > 0 and a[c.ATTR_AGENT_COST] == pytest.approx(call_cost, abs=1e-12)
    # Azure's Agents view: model and tool spans are direct children of the agent span, and only
    # the agent span carries gen_ai.agent.name and no usage/cost of its own (no double count)
    assert {s.parent.span_id for s in [tool, *chats]} == {run.context.span_id}
    assert all(c.GEN_AI_AGENT_NAME not in s.attributes for s in [tool, *chats])
    assert not {c.MS_COST_INPUT, c.GEN_AI_USAGE_INPUT_TOKENS} & set(a)
    assert tool.attributes[c.GEN_AI_TOOL_TYPE] == "function"
    assert tool.attributes[c.GEN_AI_TOOL_CALL_ID] == "call_1"
    # content capture is off: no arguments or result
    assert c.GEN_AI_TOOL_CALL_ARGUMENTS not in tool.attributes
    assert c.GEN_AI_TOOL_CALL_RESULT not in tool.attributes

    dims = {c.GEN_AI_AGENT_NAME: "triage"}
    [dur] = telemetry.points(c.AGENT_DURATION.name)
    assert dict(dur.attributes) == dims and dur.count == 1
    for spec, value in ((c.AGENT_MODEL_CALLS, 2), (c.AGENT_TOOL_CALLS, 1), (c.AGENT_STEPS, 3)):
        [p] = telemetry.points(spec.name)
        assert (dict(p.attributes), p.sum, p.count) == (dims, value, 1), spec.name
    [steps] = telemetry.points(c.AGENT_STEPS_BUCKET_COUNTS.name)
    assert steps.attributes[c.ATTR_BUCKET_LE] == "3" and steps.value == 1
    tokens = {
        p.attributes[c.GEN_AI_TOKEN_TYPE]: p.sum for p in telemetry.points(c.AGENT_TOKENS.name)
    }
    assert tokens == {"input": 300, "output": 30}
    [cost] = telemetry.points(c.AGENT_COST.name)
    assert cost.sum == pytest.approx(call_cost, abs=1e-12)
    assert telemetry.points(c.AGENT_COST_UNKNOWN.name) == []
    [tool_point] = telemetry.points(c.TOOL_DURATION.name)
    assert dict(tool_point.attributes) == {c.GEN_AI_TOOL_NAME: "lookup", **dims}
    # conversation and user ids never reach a metric
    for name in telemetry.metrics():
        for p in telemetry.points(name):
            assert not {c.GEN_AI_CONVERSATION_ID, c.ENDUSER_ID} & set(p.attributes), name


def test_tool_content_only_with_capture_on(telemetry):
    _state.settings.capture_content = _state.CONTENT_ON
    with llm_insights.agent("a"), llm_insights.tool("calc", arguments={"x": 1}) as t:
        t.record_result(2)
    tool = telemetry.span("execute_tool calc")
    assert tool.attributes[c.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"x": 1}'
    assert tool.attributes[c.GEN_AI_TOOL_CALL_RESULT] == "2"


def test_failed_run_nested_agents_and_unknown_cost(telemetry, stand, openai_client):
    llm_insights.instrument_openai()
    stand.script(Scripted(input_tokens=10, output_tokens=1), Scripted(include_usage=False))
    # the app's exception propagates unchanged
    with pytest.raises(RuntimeError), llm_insights.agent("outer"):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        with llm_insights.agent("inner"):
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
            with llm_insights.tool("t"):
                pass
        raise RuntimeError("gave up")
    outer = telemetry.span("invoke_agent outer")
    inner = telemetry.span("invoke_agent inner")
    assert inner.parent.span_id == outer.context.span_id
    assert inner.attributes[c.ATTR_MAIN_AGENT_NAME] == "outer"
    assert outer.status.status_code.name == "ERROR"
    assert outer.attributes[c.ATTR_ERROR_TYPE] == "RuntimeError"
    assert inner.status.status_code.name == "UNSET"
    # the inner run's calls count for the outer run too; usage unknown → tokens/cost unknown
    assert (
        outer.attributes[c.ATTR_AGENT_MODEL_CALLS],
        outer.attributes[c.ATTR_AGENT_TOOL_CALLS],
    ) == (
        2,
        1,
    )
    assert c.ATTR_AGENT_COST not in outer.attributes and c.ATTR_AGENT_TOKENS not in outer.attributes
    by_agent = {
        (p.attributes[c.GEN_AI_AGENT_NAME], p.attributes.get(c.ERROR_TYPE)): p.count
        for p in telemetry.points(c.AGENT_DURATION.name)
    }
    assert by_agent == {("outer", "RuntimeError"): 1, ("inner", None): 1}
    unknown = {
        p.attributes[c.GEN_AI_AGENT_NAME]: p.value
        for p in telemetry.points(c.AGENT_COST_UNKNOWN.name)
    }
    assert unknown == {"outer": 1, "inner": 1}
    assert telemetry.points(c.AGENT_COST.name) == []
    assert telemetry.points(c.AGENT_TOKENS.name) == []


def test_decorated_agents_sync_async_and_generators(telemetry):
    @llm_insights.agent("sync")
    def sync_agent():
        with llm_insights.tool("t1"):
            pass
        return 1

    @llm_insights.agent("async")
    async def async_agent():
        with llm_insights.tool("t2"):
            await asyncio.sleep(0)
        return 2

    @llm_insights.agent("gen")
    def gen_agent():
        for i in range(3):
            with llm_insights.tool("t3"):
                pass
            yield i

    @llm_insights.agent("agen")
    async def agen_agent():
        for i in range(2):
            with llm_insights.tool("t4"):
                pass
            yield i

    async def consume():
        return [x async for x in agen_agent()]

    assert sync_agent() == 1
    assert asyncio.run(async_agent()) == 2
    assert list(gen_agent()) == [0, 1, 2]
    assert asyncio.run(consume()) == [0, 1]
    with llm_insights.tool("outside"):  # after the generators: no run leaked into the context
        pass
    tools = {p.attributes[c.GEN_AI_TOOL_NAME]: p for p in telemetry.points(c.TOOL_DURATION.name)}
    assert tools["outside"].attributes.get(c.GEN_AI_AGENT_NAME) is None
    expected = {"sync": 1, "async": 1, "gen": 3, "agen": 2}
    got = {
        p.attributes[c.GEN_AI_AGENT_NAME]: p.sum for p in telemetry.points(c.AGENT_TOOL_CALLS.name)
    }
    assert got == expected
    for name, n in expected.items():
        run = telemetry.span(f"invoke_agent {name}")
        assert run.attributes[c.ATTR_AGENT_TOOL_CALLS] == n
        kids = [
            s for s in telemetry.spans() if s.parent and s.parent.span_id == run.context.span_id
        ]
        assert len(kids) == n, name


def test_record_agent_run_takes_plain_values(telemetry):
    llm_insights.record_agent_run("byo", 1.5, None, 4, 2, 100, 10, 0.25)
    llm_insights.record_agent_run("byo", 0.3, "TimeoutError", 1, 0, None, None, None)
    assert telemetry.total(c.AGENT_DURATION.name, gen_ai__agent__name="byo") == 2
    assert telemetry.total(c.AGENT_DURATION.name, error__type="TimeoutError") == 1
    [cost] = telemetry.points(c.AGENT_COST.name)
    assert (cost.sum, cost.max) == (0.25, 0.25)
    assert telemetry.total(c.AGENT_COST_UNKNOWN.name) == 1
    labels = sorted(
        p.attributes[c.ATTR_BUCKET_LE]
        for p in telemetry.points(c.AGENT_DURATION_BUCKET_COUNTS.name)
    )
    assert labels == ["0.5", "2"]


def test_record_tool_call_takes_plain_values(telemetry):
    llm_insights.record_tool_call("search", 0.2, None, "triage")
    llm_insights.record_tool_call("search", 0.4, "TimeoutError")
    got = {
        (p.attributes.get(c.GEN_AI_AGENT_NAME), p.attributes.get(c.ERROR_TYPE)): p.count
        for p in telemetry.points(c.TOOL_DURATION.name)
    }
    assert got == {("triage", None): 1, (None, "TimeoutError"): 1}


def test_agent_never_raises_into_the_app(telemetry, monkeypatch):
    from llm_insights import _agent

    def broken(*a, **k):
        raise ValueError("bug in the SDK")

    monkeypatch.setattr(_agent, "finish_run", broken)
    monkeypatch.setattr(_agent.Run, "add_tool_call", broken)
    with llm_insights.agent("fragile"), llm_insights.tool("x"):
        pass
    assert telemetry.span("invoke_agent fragile").end_time is not None
    assert telemetry.total(c.SDK_ERRORS.name) >= 1
