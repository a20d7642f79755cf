"""The openai client traced by ``opentelemetry-instrumentation-genai-openai`` alone: the app
plays the agent loop itself (the model asks for the tool, the app runs it and asks again), so
there are model calls but no agent or tool spans."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

from ..plan import MODEL, TOOL

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": TOOL,
            "description": "Look a drug up.",
            "parameters": {"type": "object", "properties": {"drug": {"type": "string"}}},
        },
    }
]


class App:
    def __init__(self, base_url: str, lookup: Callable[[str], str]) -> None:
        OpenAIInstrumentor().instrument()
        self.client = openai.AsyncOpenAI(base_url=base_url, api_key="t", max_retries=0)
        self.lookup = lookup

    async def run(self, question: str, stream: bool) -> None:
        messages: list[Any] = [{"role": "user", "content": question}]
        if stream:
            chunks = await self.client.chat.completions.create(
                model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
            )
            async for _ in chunks:
                pass
            return
        while True:
            answer = await self.client.chat.completions.create(
                model=MODEL, messages=messages, tools=TOOLS
            )
            message = answer.choices[0].message
            if not message.tool_calls:
                return
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                result = self.lookup(**json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
