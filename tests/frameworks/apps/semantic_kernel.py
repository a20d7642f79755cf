"""Semantic Kernel: a ``ChatCompletionAgent`` on its OpenAI connector with one kernel-function
tool; its own GenAI telemetry on (``SEMANTICKERNEL_EXPERIMENTAL_GENAI_ENABLE_OTEL_DIAGNOSTICS``,
set before Semantic Kernel is imported, as its settings are read then)."""

from __future__ import annotations

import os
from collections.abc import Callable

os.environ["SEMANTICKERNEL_EXPERIMENTAL_GENAI_ENABLE_OTEL_DIAGNOSTICS"] = "true"

import openai
from semantic_kernel import Kernel
from semantic_kernel.agents import ChatCompletionAgent
from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion
from semantic_kernel.functions import kernel_function

from ..plan import AGENT, MODEL

PLUGIN = "drugs"
TOOL = f"{PLUGIN}-lookup"  # Semantic Kernel names a function to the model plugin-function


class App:
    def __init__(self, base_url: str, lookup: Callable[[str], str]) -> None:
        class Drugs:
            @kernel_function(name="lookup", description="Look a drug up.")
            def lookup(self, drug: str) -> str:
                return lookup(drug)

        kernel = Kernel()
        kernel.add_plugin(Drugs(), plugin_name=PLUGIN)
        client = openai.AsyncOpenAI(base_url=base_url, api_key="t", max_retries=0)
        self.agent = ChatCompletionAgent(
            service=OpenAIChatCompletion(ai_model_id=MODEL, async_client=client),
            name=AGENT,
            instructions="Use the tool.",
            kernel=kernel,
        )

    async def run(self, question: str, stream: bool) -> None:
        if stream:
            async for _ in self.agent.invoke_stream(messages=question):
                pass
        else:
            await self.agent.get_response(messages=question)
