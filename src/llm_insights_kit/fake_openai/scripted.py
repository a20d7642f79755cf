"""How the fake server answers: ``Scripted`` (one response's text, tokens, timing, errors,
content-filter results), the built-in scenarios chosen by header or model name, and Azure's
content-filter result shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SCENARIO_HEADER = "x-standin-scenario"
MODEL_SCENARIO_PREFIX = "standin-"
FILTER_CATEGORIES = ("hate", "self_harm", "sexual", "violence")


def filter_results(**hits: str | tuple[str, bool]) -> dict[str, dict[str, Any]]:
    """Azure content-filter results: every category ``safe`` unless given.

    ``filter_results(violence="medium")`` or ``filter_results(hate=("high", True))`` (filtered).
    """
    out: dict[str, dict[str, Any]] = {
        c: {"filtered": False, "severity": "safe"} for c in FILTER_CATEGORIES
    }
    for category, value in hits.items():
        severity, filtered = value if isinstance(value, tuple) else (value, False)
        out[category] = {"filtered": bool(filtered), "severity": severity}
    return out


SAFE_FILTER = filter_results()


@dataclass
class Scripted:
    """How the stand-in answers one request. Every field has a realistic default.

    Token counts default to an estimate (input: characters/4 of the messages, at least 1;
    output: one token per chunk). ``status`` other than 200 returns an OpenAI-shaped error.
    """

    text: str = "This is a scripted answer from the stand-in."
    chunks: list[str] | None = None  # stream chunks; default: the text split into words
    model: str | None = None  # response model; default see module docstring
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None  # usage.prompt_tokens_details.cached_tokens
    # usage.completion_tokens_details.reasoning_tokens (Responses: output_tokens_details)
    reasoning_tokens: int | None = None
    cache_write_tokens: int | None = None  # usage.prompt_tokens_details.cache_write_tokens
    input_audio_tokens: int | None = None  # usage.prompt_tokens_details.audio_tokens
    output_audio_tokens: int | None = None  # usage.completion_tokens_details.audio_tokens
    include_usage: bool = True  # False: the response has no usage at all
    latency: float = 0.0  # seconds before the response (before the first chunk for streams)
    ttft: float | None = (
        None  # streams: extra seconds after `latency` before the first content chunk
    )
    chunk_interval: float = 0.0  # streams: seconds between content chunks
    finish_reason: str = "stop"
    status: int = 200
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None  # 429: retry-after header (seconds)
    prompt_filter: dict[str, dict[str, Any]] | None = None  # Azure prompt_filter_results
    completion_filter: dict[str, dict[str, Any]] | None = None  # Azure content_filter_results
    fail_after_chunks: int | None = None  # streams: send an SSE error event after N chunks
    continuous_usage: bool = False  # streams: usage on every chunk (vLLM style)
    reject_stream_options: bool = False  # 400 when the request has stream_options (old Azure)
    embedding_dim: int = 8
    response_id: str | None = None
    # chat (non-streamed): answer with these tool calls ({"name", "arguments": dict | str,
    # optional "id"}) and finish_reason "tool_calls", as a model asking the app to run tools
    tool_calls: list[dict[str, Any]] | None = None


def _content_filter_400(**hits: str | tuple[str, bool]) -> Scripted:
    return Scripted(
        status=400,
        error_code="content_filter",
        error_message=(
            "The response was filtered due to the prompt triggering Azure OpenAI's content "
            "management policy."
        ),
        prompt_filter=filter_results(**hits),
    )


BUILTIN_SCENARIOS: dict[str, Scripted] = {
    "ok": Scripted(),
    "slow": Scripted(latency=1.5, chunk_interval=0.05),
    "rate_limit": Scripted(status=429, error_code="rate_limit_exceeded", retry_after=1),
    "server_error": Scripted(status=500, error_code="server_error"),
    "content_filter_prompt": _content_filter_400(violence=("high", True)),
    "content_filter_completion": Scripted(
        text="I will describe",
        finish_reason="content_filter",
        completion_filter=filter_results(violence=("medium", True)),
    ),
    "filter_low": Scripted(
        prompt_filter=filter_results(hate="low"), completion_filter=filter_results(sexual="low")
    ),
    "refusal": Scripted(text="I'm sorry, but I can't help with that request."),
    "hallucination": Scripted(
        text="As of my last knowledge update, the study (Smith et al., 2019) reported 42%."
    ),
    "no_usage": Scripted(include_usage=False),
    "stream_error": Scripted(fail_after_chunks=2, continuous_usage=True),
    "old_azure": Scripted(reject_stream_options=True),
    "long": Scripted(text="word " * 3000),
    "slow_first_token": Scripted(ttft=2.0, chunk_interval=0.02),
    "tool_calls": Scripted(
        tool_calls=[{"name": "lookup_drug_price", "arguments": {"drug": "ibuprofen"}}]
    ),
    "reasoning_cached": Scripted(
        input_tokens=1500, cached_tokens=1024, output_tokens=420, reasoning_tokens=256
    ),
    "served_model": Scripted(model="gpt-4o-mini-2024-07-18"),
}

# What each built-in scenario answers (``--help`` and docs/fake-openai.md list them).
SCENARIO_HELP: dict[str, str] = {
    "ok": "200 with a short answer and usage (the default)",
    "slow": "1.5 s before the response, streams 50 ms between chunks",
    "slow_first_token": "streams: 2 s before the first content chunk (time to first token)",
    "rate_limit": "429 rate_limit_exceeded with a retry-after: 1 header",
    "server_error": "500 server_error",
    "content_filter_prompt": "Azure's 400 content_filter: the prompt was filtered (violence high)",
    "content_filter_completion": "200 cut short: finish_reason content_filter (violence medium)",
    "filter_low": "200 with low-severity (unfiltered) prompt and completion filter results",
    "tool_calls": "a tool call (lookup_drug_price): chat (not streamed) and the Responses API",
    "reasoning_cached": "usage with 1024 cached input tokens and 256 reasoning tokens",
    "served_model": "answers as gpt-4o-mini-2024-07-18 whatever model was asked for",
    "refusal": "a refusal (I'm sorry, but I can't help with that request.)",
    "hallucination": "an answer with hallucination markers (as of my last knowledge update)",
    "no_usage": "200 without any usage block",
    "stream_error": "streams: an error event after 2 chunks",
    "old_azure": "400 when the request has stream_options (an older Azure API version)",
    "long": "a 3000-word answer",
}


_WORDS = re.compile(r"\S+\s*")


def chunks_of(script: Scripted) -> list[str]:
    """The stream chunks of *script* (default: its text split into words)."""
    return script.chunks if script.chunks is not None else _WORDS.findall(script.text)
