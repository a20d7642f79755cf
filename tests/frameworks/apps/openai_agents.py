"""OpenAI Agents SDK traced by ``opentelemetry-instrumentation-genai-openai-agents`` (agent, tool
and workflow spans) and ``-genai-openai`` (model calls); no export to OpenAI's trace backend."""

from __future__ import annotations

from collections.abc import Callable

import openai
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_trace_processors,
)
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from opentelemetry.instrumentation.genai.openai_agents import OpenAIAgentsInstrumentor

from ..plan import AGENT, MODEL, TOOL


class App:
    def __init__(self, base_url: str, lookup: Callable[[str], str]) -> None:
        set_trace_processors([])
        OpenAIAgentsInstrumentor().instrument()
        OpenAIInstrumentor().instrument()
        client = openai.AsyncOpenAI(base_url=base_url, api_key="t", max_retries=0)
        self.agent = Agent(
            name=AGENT,
            instructions="Use the tool.",
            model=OpenAIChatCompletionsModel(model=MODEL, openai_client=client),
            tools=[function_tool(lookup, name_override=TOOL)],
            # without it the SDK does not ask for a streamed call's usage (tokens unknown)
            model_settings=ModelSettings(include_usage=True),
        )

    async def run(self, question: str, stream: bool) -> None:
        if stream:
            result = Runner.run_streamed(self.agent, question)
            async for _ in result.stream_events():
                pass
        else:
            await Runner.run(self.agent, question)
