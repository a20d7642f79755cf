"""The chat flow: retrieve context, call the price tool when a drug is named, then one LLM call.

Every step is wrapped in an ``llm_insights`` span (chain → retrieval, tool, LLM call), so a slow
or failing answer can be traced to the step that caused it. The LLM call itself is recorded by
``llm_insights.instrument_openai()``: this module never measures tokens, cost or latency.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import llm_insights
from openai import OpenAI

from .retriever import Hit, InMemoryRetriever
from .tools import TOOL_NAME, UnknownDrugError, drugs_to_price, lookup_drug_price

SYSTEM_PROMPT = (
    "You are a pharmacy assistant. Answer from the context below; say so when it does not "
    "contain the answer. Prices are before insurance."
)
RETRIEVER_NAME = "knowledge-base"
CHAIN_NAME = "chat"


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
            with llm_insights.tool(TOOL_NAME):
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


def answer(
    client: OpenAI,
    retriever: InMemoryRetriever,
    question: str,
    *,
    model: str,
    max_tokens: int,
    k: int,
) -> ChatAnswer:
    """Answer ``question`` in one LLM call; openai errors propagate for the route to map."""
    with llm_insights.chain(CHAIN_NAME):
        prepared = prepare(retriever, question, k)
        response = client.chat.completions.create(
            model=model, messages=prepared.messages, max_tokens=max_tokens
        )
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
