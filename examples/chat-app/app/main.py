"""FastAPI entry point: ``uvicorn app.main:create_app --factory``.

``llm_insights.configure()`` runs before the FastAPI app object exists, so the Azure Monitor
distro's FastAPI instrumentation sees it and every request lands in the ``requests`` table (the
telemetry-silent alert compares those with LLM telemetry). The lifespan flushes on shutdown, so a
scaled-in replica does not lose its last export interval.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import llm_insights
import openai
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from . import chat
from .evaluators import price_accuracy
from .llm import make_client
from .retriever import KNOWLEDGE_BASE, InMemoryRetriever
from .settings import Settings, load_settings

log = logging.getLogger("chat-app")

# Probes are not user traffic: keep them out of `requests` (the distro reads this variable).
os.environ.setdefault("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", "healthz")


class ChatRequest(BaseModel):
    message: Annotated[str, Field(min_length=1, max_length=4000)]
    model: str | None = Field(default=None, description="one of CHAT_ALLOWED_MODELS")
    user_id: str | None = Field(default=None, max_length=128)
    session_id: str | None = Field(default=None, max_length=128)


class FeedbackRequest(BaseModel):
    response_id: Annotated[str, Field(min_length=1, max_length=256)]
    score: Annotated[float, Field(ge=-1, le=5, description="-1/1 thumbs or a 1..5 rating")]
    comment: str | None = Field(default=None, max_length=2000)


def _upstream_error(exc: openai.OpenAIError) -> HTTPException:
    """Map an openai error to the status this service answers with."""
    if isinstance(exc, openai.BadRequestError) and getattr(exc, "code", None) == "content_filter":
        return HTTPException(400, {"error": "content_filter", "detail": "the prompt was filtered"})
    if isinstance(exc, openai.RateLimitError):
        return HTTPException(429, {"error": "rate_limited", "detail": "the LLM is rate limited"})
    if isinstance(exc, openai.APIStatusError):
        return HTTPException(502, {"error": "upstream", "detail": f"LLM HTTP {exc.status_code}"})
    if isinstance(exc, openai.APITimeoutError):
        return HTTPException(504, {"error": "upstream_timeout", "detail": "the LLM timed out"})
    return HTTPException(502, {"error": "upstream", "detail": type(exc).__name__})


def _pick_model(settings: Settings, requested: str | None) -> str:
    if requested is None:
        return settings.model
    if requested not in settings.allowed_models:
        allowed = ", ".join(settings.allowed_models)
        raise HTTPException(422, {"error": "model", "detail": f"model must be one of: {allowed}"})
    return requested


def _sse(event: dict[str, Any]) -> str:
    return f"data: {json.dumps(event, sort_keys=True)}\n\n"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Configure telemetry, then build the app (uvicorn's ``--factory`` calls this)."""
    settings = settings or load_settings()
    llm_insights.configure(service_name=settings.service_name)
    llm_insights.instrument_openai()
    llm_insights.register_evaluator(price_accuracy)
    client = make_client(settings)
    retriever = InMemoryRetriever(KNOWLEDGE_BASE)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        llm_insights.shutdown()  # flushes spans and metrics before the process exits

    app = FastAPI(title="chat-app", lifespan=lifespan)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/chat")
    def post_chat(req: ChatRequest) -> dict[str, Any]:
        model = _pick_model(settings, req.model)
        try:
            ids = llm_insights.attributes(
                user_id=req.user_id, session_id=req.session_id, conversation_id=req.session_id
            )
            with ids:
                result = chat.answer(
                    client,
                    retriever,
                    req.message,
                    model=model,
                    max_tokens=settings.max_tokens,
                    k=settings.retrieval_k,
                    max_turns=settings.agent_max_turns,
                )
        except openai.OpenAIError as exc:
            raise _upstream_error(exc) from exc
        except chat.AgentTurnLimitError as exc:
            raise HTTPException(502, {"error": "agent_turn_limit", "detail": str(exc)}) from exc
        return {
            "answer": result.answer,
            "model": result.model,
            "response_id": result.response_id,
            "finish_reason": result.finish_reason,
            "filtered": result.finish_reason == "content_filter",
            "sources": result.sources,
            "tool_results": result.tool_results,
            "usage": result.usage,
        }

    @app.post("/api/chat/stream")
    def post_chat_stream(req: ChatRequest) -> StreamingResponse:
        model = _pick_model(settings, req.model)
        try:
            with llm_insights.attributes(user_id=req.user_id, session_id=req.session_id):
                prepared, chunks = chat.stream(
                    client,
                    retriever,
                    req.message,
                    model=model,
                    max_tokens=settings.max_tokens,
                    k=settings.retrieval_k,
                )
        except openai.OpenAIError as exc:
            raise _upstream_error(exc) from exc

        def events() -> Iterator[str]:
            response_id = finish_reason = None
            yield _sse({"type": "sources", "sources": prepared.sources})
            try:
                for chunk in chunks:
                    response_id = chunk.id or response_id
                    for choice in chunk.choices:
                        if choice.delta and choice.delta.content:
                            yield _sse({"type": "delta", "content": choice.delta.content})
                        finish_reason = choice.finish_reason or finish_reason
            except openai.OpenAIError as exc:
                yield _sse({"type": "error", "error": _upstream_error(exc).detail})
                return
            finally:
                chunks.close()
            yield _sse(
                {
                    "type": "done",
                    "response_id": response_id,
                    "finish_reason": finish_reason,
                    "filtered": finish_reason == "content_filter",
                }
            )

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/api/feedback", status_code=202)
    def post_feedback(req: FeedbackRequest) -> JSONResponse:
        llm_insights.record_feedback(req.response_id, req.score, comment=req.comment)
        return JSONResponse({"status": "accepted"}, status_code=202)

    return app
