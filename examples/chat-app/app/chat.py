"""The chat flow: retrieve context, call the price tool when a drug is named, then the LLM.

``answer`` is the triage agent (``llm_insights.agent``): the model may ask for more price
lookups (OpenAI tool calls), which the agent runs and hands back, until it answers or reaches
``max_turns`` LLM calls (then the run fails with ``AgentTurnLimitError``: a looping agent shows
in the agents workbook and fires the runaway rule). ``stream`` is one streamed LLM call in a
chain: no tool loop.

Every step is wrapped in an ``llm_insights`` span (agent or chain → retrieval, tool, LLM call),
so a slow or failing answer can be traced to the step that caused it. The LLM calls themselves
are recorded by ``llm_insights.instrument_openai()``: this module never measures tokens, cost or
latency.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import llm_insights
from openai import OpenAI

from .retriever import Hit, InMemoryRetriever
from .tools import (
    TOOL_DEFINITION,
    TOOL_NAME,
    UnknownDrugError,
    drugs_to_price,
    lookup_drug_price,
)

SYSTEM_PROMPT = (
    "You are a pharmacy assistant. Answer from the context below; say so when it does not "
    "contain the answer. Prices are before insurance."
)
RETRIEVER_NAME = "knowledge-base"
CHAIN_NAME = "chat"
AGENT_NAME = "triage"
AGENT_VERSION = "1"
AGENT_DESCRIPTION = "Answers pharmacy questions from the knowledge base and the price tool."


TOOL_DESCRIPTION = TOOL_DEFINITION["function"]["description"]


class AgentTurnLimitError(RuntimeError):
    """The model kept asking for tools past the turn limit: the run gives up."""


@dataclass
class Prepared:
    """What the model is asked, and what the answer will be grounded on."""

    messages: list[dict[str, str]]
    sources: list[dict[str, Any]]
    tool_results: list[dict[str, Any]] = field(default_factory=list)


def retrieve(retriever: InMemoryRetriever, question: str, k: int) -> list[Hit]:
    with llm_insights.retrieval(RETRIEVER_NAME) as step:
        hits = retriever.search(question, k=k)
        step.record_documents([h.score for h in hits])
    return hits


def call_tools(question: str) -> list[dict[str, Any]]:
    """Price every drug the question asks about; an unknown drug fails its tool span (so tool
    errors show up) and the model is told it is not in the formulary."""
    results = []
    for name in drugs_to_price(question):
        try:
            with llm_insights.tool(TOOL_NAME, description=TOOL_DESCRIPTION):
                results.append(lookup_drug_price(name))
        except UnknownDrugError as exc:
            results.append({"name": name, "error": str(exc)})
    return results


def prepare(retriever: InMemoryRetriever, question: str, k: int) -> Prepared:
    hits = retrieve(retriever, question, k)
    tool_results = call_tools(question)
    context = "\n".join(f"[{h.document.id}] {h.document.title}: {h.document.text}" for h in hits)
    if tool_results:
        context += "\nPrice lookup: " + json.dumps(tool_results, sort_keys=True)
    messages = [
        {"role": "system", "content": f"{SYSTEM_PROMPT}\n\nContext:\n{context or '(none)'}"},
        {"role": "user", "content": question},
    ]
    sources = [{"id": h.document.id, "title": h.document.title, "score": h.score} for h in hits]
    return Prepared(messages, sources, tool_results)


@dataclass(frozen=True)
class ChatAnswer:
    answer: str
    model: str
    response_id: str | None
    finish_reason: str | None
    sources: list[dict[str, Any]]
    tool_results: list[dict[str, Any]]
    usage: dict[str, int] | None


def _price(name: Any, call_id: str | None, arguments: str | None) -> dict[str, Any]:
    """One price lookup the model asked for; an unknown drug fails the tool span."""
    try:
        with llm_insights.tool(
            TOOL_NAME, call_id=call_id, arguments=arguments, description=TOOL_DESCRIPTION
        ) as step:
            result = lookup_drug_price(str(name))
            step.record_result(result)
            return result
    except UnknownDrugError as exc:
        return {"name": str(name), "error": str(exc)}


def _run_tool_calls(message: Any) -> list[dict[str, Any]]:
    """The tool messages answering the model's tool calls (arguments the model got wrong
    become an error result, as a tool would report them)."""
    out = []
    for call in message.tool_calls or []:
        try:
            args = json.loads(call.function.arguments or "{}")
            name = args.get("name", "") if isinstance(args, dict) else ""
        except ValueError:
            name = ""
        result = _price(name, call.id, call.function.arguments)
        out.append(
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result, sort_keys=True)}
        )
    return out


def answer(
    client: OpenAI,
    retriever: InMemoryRetriever,
    question: str,
    *,
    model: str,
    max_tokens: int,
    k: int,
    max_turns: int = 15,
) -> ChatAnswer:
    """Answer ``question`` as the triage agent: LLM calls with the price tool offered, until the
    model answers without a tool call. openai errors and ``AgentTurnLimitError`` propagate for
    the route to map (and fail the agent run)."""
    with llm_insights.agent(AGENT_NAME, version=AGENT_VERSION, description=AGENT_DESCRIPTION):
        prepared = prepare(retriever, question, k)
        messages: list[dict[str, Any]] = list(prepared.messages)
        for _ in range(max_turns):
            response = client.chat.completions.create(
                model=model, messages=messages, max_tokens=max_tokens, tools=[TOOL_DEFINITION]
            )
            message = response.choices[0].message if response.choices else None
            if message is None or not message.tool_calls:
                break
            messages.append(message.model_dump(exclude_none=True))
            messages.extend(_run_tool_calls(message))
        else:
            raise AgentTurnLimitError(f"no answer after {max_turns} LLM calls")
    choice = response.choices[0] if response.choices else None
    usage = response.usage
    return ChatAnswer(
        answer=(choice.message.content or "") if choice else "",
        model=response.model or model,
        response_id=response.id,
        finish_reason=choice.finish_reason if choice else None,
        sources=prepared.sources,
        tool_results=prepared.tool_results,
        usage=(
            {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}
            if usage
            else None
        ),
    )


def stream(
    client: OpenAI,
    retriever: InMemoryRetriever,
    question: str,
    *,
    model: str,
    max_tokens: int,
    k: int,
) -> tuple[Prepared, Iterator[Any]]:
    """Start a streamed answer: returns the prepared context and the open openai stream.

    The request is sent before this returns, so the route can still turn an upstream error into
    an HTTP status; the chain span ends once the stream is open (the LLM span, owned by the SDK,
    ends when the stream is drained or closed).
    """
    with llm_insights.chain(CHAIN_NAME):
        prepared = prepare(retriever, question, k)
        chunks = client.chat.completions.create(
            model=model,
            messages=prepared.messages,
            max_tokens=max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
    return prepared, chunks
