"""LangChain: an agent from ``langchain.agents.create_agent`` on ``langchain_openai.ChatOpenAI``
with one tool, traced by the official ``opentelemetry-instrumentation-genai-langchain``."""

from __future__ import annotations

from collections.abc import Callable

from langchain.agents import create_agent
from langchain_core.tools import StructuredTool
from langchain_openai import ChatOpenAI
from opentelemetry.instrumentation.genai.langchain import LangChainInstrumentor

from ..plan import AGENT, MODEL, TOOL


class App:
    def __init__(self, base_url: str, lookup: Callable[[str], str]) -> None:
        LangChainInstrumentor().instrument()
        model = ChatOpenAI(
            model=MODEL, base_url=base_url, api_key="t", max_retries=0, stream_usage=True
        )
        self.agent = create_agent(
            model,
            tools=[StructuredTool.from_function(lookup, name=TOOL)],
            system_prompt="Use the tool.",
            name=AGENT,
        )

    async def run(self, question: str, stream: bool) -> None:
        messages = {"messages": [{"role": "user", "content": question}]}
        if stream:
            async for _ in self.agent.astream(messages, stream_mode="messages"):
                pass
        else:
            await self.agent.ainvoke(messages)
