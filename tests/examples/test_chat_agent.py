"""The sample app's triage agent against the LLM stand-in: a tool loop the model drives, and a
looping run that gives up at the turn limit (the demo's runaway incident)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import llm_insights
import openai
import pytest
from app import chat
from app.retriever import KNOWLEDGE_BASE, InMemoryRetriever
from app.tools import TOOL_NAME
from llm_insights import contract as c
from support.otel import Telemetry

from llm_insights_kit.fake_openai.scripted import Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI


@pytest.fixture
def env(telemetry: Telemetry) -> Iterator[dict[str, Any]]:
    llm_insights.instrument_openai()
    with FakeOpenAI() as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="t", max_retries=0)
        yield {"srv": srv, "client": client, "telemetry": telemetry}


def _answer(env: dict[str, Any], question: str, max_turns: int = 5) -> chat.ChatAnswer:
    return chat.answer(
        env["client"],
        InMemoryRetriever(KNOWLEDGE_BASE),
        question,
        model="gpt-4o-mini",
        max_tokens=50,
        k=2,
        max_turns=max_turns,
    )


def test_the_model_drives_tool_calls_until_it_answers(env: dict[str, Any]) -> None:
    env["srv"].script(
        Scripted(tool_calls=[{"name": TOOL_NAME, "arguments": {"name": "lisinopril"}}]),
        Scripted(text="Lisinopril costs 7.15 USD."),
    )
    out = _answer(env, "Can I get a generic instead of the brand medicine?")
    assert out.answer == "Lisinopril costs 7.15 USD."
    spans = env["telemetry"].spans()
    (run,) = [s for s in spans if s.name == "invoke_agent triage"]
    tools = [s for s in spans if s.name == f"execute_tool {TOOL_NAME}"]
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) == 2 and len(tools) == 1
    assert {s.parent.span_id for s in [*chats, *tools]} == {run.context.span_id}
    assert tools[0].attributes[c.GEN_AI_TOOL_CALL_ID].startswith("call-standin")
    # the second request handed the tool's result back to the model
    second = env["srv"].requests[-1].body["messages"]
    assert second[-1]["role"] == "tool" and "7.15" in second[-1]["content"]
    assert run.attributes[c.ATTR_AGENT_MODEL_CALLS] == 2
    assert run.attributes[c.ATTR_AGENT_TOOL_CALLS] == 1


def test_a_looping_run_fails_at_the_turn_limit(env: dict[str, Any]) -> None:
    loop = Scripted(tool_calls=[{"name": TOOL_NAME, "arguments": {"name": "ozempic"}}])
    env["srv"].script(*[loop] * 5)
    with pytest.raises(chat.AgentTurnLimitError):
        _answer(env, "How long does express delivery take?", max_turns=5)
    (run,) = [s for s in env["telemetry"].spans() if s.name == "invoke_agent triage"]
    assert run.status.status_code.name == "ERROR"
    assert run.attributes[c.ATTR_ERROR_TYPE] == "AgentTurnLimitError"
    [steps] = env["telemetry"].points(c.AGENT_STEPS.name)
    assert steps.max == 10  # 5 LLM calls + 5 failing price lookups
    tool = env["telemetry"].points(c.TOOL_DURATION.name)
    assert sum(p.count for p in tool if p.attributes.get(c.ERROR_TYPE)) == 5
