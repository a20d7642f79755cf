"""Microsoft Agent Framework: an ``Agent`` on ``OpenAIChatCompletionClient`` with one function
tool; its own telemetry (on by default) on the providers ``configure()`` set."""

from __future__ import annotations

from collections.abc import Callable

import openai
from agent_framework import Agent, tool
from agent_framework.observability import enable_instrumentation
from agent_framework.openai import OpenAIChatCompletionClient

from ..plan import AGENT, MODEL, TOOL


class App:
    def __init__(self, base_url: str, lookup: Callable[[str], str]) -> None:
        enable_instrumentation()
        client = openai.AsyncOpenAI(base_url=base_url, api_key="t", max_retries=0)
        self.agent = Agent(
            client=OpenAIChatCompletionClient(model=MODEL, async_client=client),
            name=AGENT,
            instructions="Use the tool.",
            tools=[tool(lookup, name=TOOL)],
        )

    async def run(self, question: str, stream: bool) -> None:
        if stream:
            async for _ in self.agent.run(question, stream=True):
                pass
        else:
            await self.agent.run(question)
