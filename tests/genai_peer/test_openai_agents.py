"""An OpenAI Agents SDK app traced by the real ``opentelemetry-instrumentation-genai-openai-
agents`` (agent and workflow spans) and ``-genai-openai`` (model calls), with and without the
kit's patch: the model calls inside the agent's span tree are counted once, the agent spans are
not LLM calls, and each call's tokens are exported on one span."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import llm_insights
import openai
import pytest
from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_trace_processors,
)
from llm_insights import contract as c
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from opentelemetry.instrumentation.genai.openai_agents import OpenAIAgentsInstrumentor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from support.otel import Telemetry, sending_to

from llm_insights_kit.fake_openai.scripted import Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI

from .test_genai_openai_inprocess import exported_usage

COST = 2 * (30 * 0.0025 + 7 * 0.01) / 1000  # two calls, gpt-4o's shipped prices per 1K


@pytest.fixture
def pipe(genai_telemetry: Telemetry) -> Iterator[Telemetry]:
    p = genai_telemetry
    set_trace_processors([])  # no export to OpenAI's trace backend: the instrumentation only
    OpenAIAgentsInstrumentor().instrument(
        tracer_provider=p.tracer_provider, meter_provider=p.meter_provider
    )
    yield p
    OpenAIAgentsInstrumentor().uninstrument()
    OpenAIInstrumentor().uninstrument()


def _run_agent(pipe: Telemetry, fake_openai: Any) -> None:
    fake_openai.reset()
    fake_openai.script(*[Scripted(input_tokens=30, output_tokens=7)] * 2)
    client = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="t", max_retries=0)
    model = OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client)
    agent = Agent(name="pharma", instructions="Answer briefly.", model=model)

    async def run() -> None:  # one event loop: the async client's connections belong to it
        for question in ("what is aspirin?", "and ibuprofen?"):
            result = await Runner.run(agent, question)
            assert result.final_output

    asyncio.run(run())


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        yield srv


def _instrument(pipe: Telemetry, kit: str) -> None:
    """The official OpenAI instrumentor, with the kit's patch before it, after it or not."""
    if kit == "kit-first":
        assert llm_insights.instrument_openai()
    OpenAIInstrumentor().instrument(
        tracer_provider=pipe.tracer_provider, meter_provider=pipe.meter_provider
    )
    if kit == "peer-first":
        assert llm_insights.instrument_openai()


@pytest.mark.parametrize("kit", ["none", "kit-first", "peer-first"])
def test_agent_model_calls_count_once(pipe: Telemetry, fake_openai: FakeOpenAI, kit: str) -> None:
    _instrument(pipe, kit)
    _run_agent(pipe, fake_openai)

    spans = pipe.spans_exporter.get_finished_spans()
    agents = [s for s in spans if s.attributes.get(c.GEN_AI_OPERATION_NAME) == "invoke_agent"]
    assert len(agents) == 2 and all(s.attributes["gen_ai.agent.name"] == "pharma" for s in agents)
    # every model call sits inside an agent's span tree
    by_id = {s.context.span_id: s for s in spans}
    chats = [s for s in spans if s.attributes.get(c.GEN_AI_OPERATION_NAME) == c.OPERATION_CHAT]
    assert chats
    for chat in chats:
        ancestor = chat
        while ancestor.parent is not None and ancestor not in agents:
            ancestor = by_id[ancestor.parent.span_id]
        assert ancestor in agents, chat.name

    assert pipe.total(c.OPERATION_DURATION.name) == 2
    assert pipe.total(c.OPERATION_DURATION.name, gen_ai__operation__name="invoke_agent") == 0
    assert pipe.total(c.TOKEN_USAGE.name, gen_ai__token__type="input") == 2
    assert pipe.total(c.COST.name) == pytest.approx(COST, rel=1e-9)
    owner = "opentelemetry.instrumentation.genai.openai" if kit == "none" else "llm_insights"
    assert sorted(exported_usage(pipe)) == [(owner, 30), (owner, 30)]


def _run_tool_agent(fake_openai: Any) -> None:
    """One run: the model asks for a tool, the agent runs it, the model answers (2 calls)."""
    fake_openai.reset()
    fake_openai.script(
        Scripted(
            input_tokens=40,
            output_tokens=9,
            tool_calls=[{"name": "lookup", "arguments": {"drug": "aspirin"}}],
        ),
        Scripted(input_tokens=55, output_tokens=12),
    )
    client = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="t", max_retries=0)

    @function_tool
    def lookup(drug: str) -> str:
        """Look a drug up."""
        return f"{drug}: an NSAID"

    agent = Agent(
        name="pharmacist",
        instructions="Use the tool.",
        model=OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client),
        tools=[lookup],
    )

    async def run() -> None:
        result = await Runner.run(agent, "what is aspirin?")
        assert result.final_output

    asyncio.run(run())


@pytest.mark.parametrize("kit", ["none", "kit-first", "peer-first"])
def test_framework_agent_runs_give_the_agent_metrics(
    pipe: Telemetry, fake_openai: FakeOpenAI, kit: str
) -> None:
    """The framework's invoke_agent spans become the kit's agent-run metrics: one run per span,
    its model calls (counted once whichever instrumentation won), tool calls, tokens and cost."""
    _instrument(pipe, kit)
    _run_tool_agent(fake_openai)
    _run_agent(pipe, fake_openai)

    who = {"gen_ai__agent__name": "pharmacist"}
    assert pipe.total(c.AGENT_DURATION.name, **who) == 1
    assert pipe.sum(c.AGENT_MODEL_CALLS.name, **who) == 2
    assert pipe.sum(c.AGENT_TOOL_CALLS.name, **who) == 1
    assert pipe.sum(c.AGENT_STEPS.name, **who) == 3
    assert pipe.sum(c.AGENT_TOKENS.name, gen_ai__token__type="input", **who) == 95
    assert pipe.sum(c.AGENT_TOKENS.name, gen_ai__token__type="output", **who) == 21
    assert pipe.sum(c.AGENT_COST.name, **who) == pytest.approx(
        (95 * 2.5 + 21 * 10.0) / 1e6, rel=1e-9
    )
    assert pipe.total(c.TOOL_DURATION.name, gen_ai__tool__name="lookup", **who) == 1

    plain = {"gen_ai__agent__name": "pharma"}
    assert pipe.total(c.AGENT_DURATION.name, **plain) == 2
    assert pipe.sum(c.AGENT_MODEL_CALLS.name, **plain) == 2
    assert pipe.sum(c.AGENT_COST.name, **plain) == pytest.approx(COST, rel=1e-9)
    assert pipe.sum(c.AGENT_COST_UNKNOWN.name) == 0


def test_framework_agent_runs_count_when_the_sampler_drops_them(fake_openai: FakeOpenAI) -> None:
    """Sampled out, the agent and its calls still give every agent metric (recorded, not
    exported)."""
    with sending_to(
        Telemetry(genai=True, sampler=llm_insights.record_genai_spans(ALWAYS_OFF))
    ) as p:
        set_trace_processors([])
        OpenAIAgentsInstrumentor().instrument(
            tracer_provider=p.tracer_provider, meter_provider=p.meter_provider
        )
        OpenAIInstrumentor().instrument(
            tracer_provider=p.tracer_provider, meter_provider=p.meter_provider
        )
        try:
            _run_tool_agent(fake_openai)
        finally:
            OpenAIAgentsInstrumentor().uninstrument()
            OpenAIInstrumentor().uninstrument()
    assert p.spans_exporter.get_finished_spans() == ()
    who = {"gen_ai__agent__name": "pharmacist"}
    assert p.total(c.AGENT_DURATION.name, **who) == 1
    assert p.sum(c.AGENT_STEPS.name, **who) == 3
    assert p.sum(c.AGENT_TOKENS.name, gen_ai__token__type="input", **who) == 95
