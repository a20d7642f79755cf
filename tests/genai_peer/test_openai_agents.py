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
from agents import Agent, OpenAIChatCompletionsModel, Runner, set_trace_processors
from llm_insights import _instrument_openai, _state
from llm_insights import contract as c
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from opentelemetry.instrumentation.genai.openai_agents import OpenAIAgentsInstrumentor

from llm_insights_kit.local.llm_standin import LLMStandin, Scripted

from .test_genai_openai_inprocess import Pipeline

COST = 2 * (30 * 0.0025 + 7 * 0.01) / 1000  # two calls, gpt-4o's shipped prices per 1K


@pytest.fixture
def pipe() -> Iterator[Pipeline]:
    p = Pipeline()
    _state.reset()
    _state.use_providers(p.provider, p.meters)
    set_trace_processors([])  # no export to OpenAI's trace backend: the instrumentation only
    OpenAIAgentsInstrumentor().instrument(tracer_provider=p.provider, meter_provider=p.meters)
    yield p
    OpenAIAgentsInstrumentor().uninstrument()
    OpenAIInstrumentor().uninstrument()
    llm_insights.uninstrument_openai()
    _instrument_openai._no_inject.clear()
    _state.reset()


def _run_agent(pipe: Pipeline, standin: Any) -> None:
    standin.reset()
    standin.script(*[Scripted(input_tokens=30, output_tokens=7)] * 2)
    client = openai.AsyncOpenAI(base_url=standin.base_url, api_key="t", max_retries=0)
    model = OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client)
    agent = Agent(name="pharma", instructions="Answer briefly.", model=model)

    async def run() -> None:  # one event loop: the async client's connections belong to it
        for question in ("what is aspirin?", "and ibuprofen?"):
            result = await Runner.run(agent, question)
            assert result.final_output

    asyncio.run(run())


@pytest.fixture(scope="module")
def standin() -> Iterator[LLMStandin]:
    with LLMStandin() as srv:
        yield srv


@pytest.mark.parametrize("kit", ["none", "kit-first", "peer-first"])
def test_agent_model_calls_count_once(pipe: Pipeline, standin: LLMStandin, kit: str) -> None:
    if kit == "kit-first":
        assert llm_insights.instrument_openai()
    OpenAIInstrumentor().instrument(tracer_provider=pipe.provider, meter_provider=pipe.meters)
    if kit == "peer-first":
        assert llm_insights.instrument_openai()
    _run_agent(pipe, standin)

    spans = pipe.exported.get_finished_spans()
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
    assert sorted(pipe.exported_usage()) == [(owner, 30), (owner, 30)]
