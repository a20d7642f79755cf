"""The JSON bodies OpenAI and Azure OpenAI return, built from a ``Scripted`` response: chat
completions, Responses API objects, embeddings, usage and errors (the server streams and sends
them)."""

from __future__ import annotations

import base64
import json
import math
import struct
import time
from collections.abc import Callable
from typing import Any

from .scripted import SAFE_FILTER, Scripted, chunks_of


def error(script: Scripted) -> tuple[dict[str, Any], dict[str, str]]:
    """An OpenAI-shaped error body and its headers (429: ``retry-after``; Azure's content-filter
    400 carries ``innererror.content_filter_result``)."""
    error: dict[str, Any] = {
        "message": script.error_message or f"scripted error {script.status}",
        "type": "invalid_request_error" if script.status < 500 else "server_error",
        "param": "prompt" if script.error_code == "content_filter" else None,
        "code": script.error_code,
    }
    if script.error_code == "content_filter":
        error["status"] = script.status
        error["innererror"] = {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": script.prompt_filter or SAFE_FILTER,
        }
    extra: dict[str, str] = {}
    if script.retry_after is not None:
        extra["retry-after"] = format(script.retry_after, "g")
    return {"error": error}, extra


def chat_usage(script: Scripted, body: dict[str, Any], output_tokens: int) -> dict[str, Any]:
    """Chat-completions ``usage``: the scripted counts, or an estimate of the prompt's."""
    prompt = script.input_tokens
    if prompt is None:
        chars = len(json.dumps(body.get("messages", body.get("input", ""))))
        prompt = max(1, math.ceil(chars / 4))
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": output_tokens,
        "total_tokens": prompt + output_tokens,
    }
    prompt_details = {
        k: v
        for k, v in (
            ("cached_tokens", script.cached_tokens),
            ("cache_write_tokens", script.cache_write_tokens),
            ("audio_tokens", script.input_audio_tokens),
        )
        if v is not None
    }
    if prompt_details:
        usage["prompt_tokens_details"] = prompt_details
    completion_details = {
        k: v
        for k, v in (
            ("reasoning_tokens", script.reasoning_tokens),
            ("audio_tokens", script.output_audio_tokens),
        )
        if v is not None
    }
    if completion_details:
        usage["completion_tokens_details"] = completion_details
    return usage


def chat_completion(
    script: Scripted,
    body: dict[str, Any],
    model: Any,
    next_id: Callable[[str], str],
    *,
    azure: bool,
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` (Azure paths add the content-filter results)."""
    chunks = chunks_of(script)
    out_tokens = script.output_tokens if script.output_tokens is not None else len(chunks)
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": "".join(chunks)},
        "finish_reason": script.finish_reason,
        "logprobs": None,
    }
    if script.tool_calls:
        choice["finish_reason"] = "tool_calls"
        choice["message"]["tool_calls"] = [
            {
                "id": call.get("id") or next_id("call"),
                "type": "function",
                "function": {"name": str(call.get("name", "tool")), "arguments": _arguments(call)},
            }
            for call in script.tool_calls
        ]
    payload: dict[str, Any] = {
        "id": script.response_id or next_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
    }
    if script.include_usage:
        payload["usage"] = chat_usage(script, body, out_tokens)
    if azure or script.prompt_filter is not None:
        payload["prompt_filter_results"] = [
            {"prompt_index": 0, "content_filter_results": script.prompt_filter or SAFE_FILTER}
        ]
    if azure or script.completion_filter is not None:
        choice["content_filter_results"] = script.completion_filter or SAFE_FILTER
    return payload


def _arguments(call: dict[str, Any]) -> str:
    """A scripted tool call's arguments as the JSON text the API sends."""
    arguments = call.get("arguments")
    return arguments if isinstance(arguments, str) else json.dumps(arguments or {})


def response_object(
    script: Scripted, body: dict[str, Any], model: Any, rid: str, text: str, done: bool
) -> dict[str, Any]:
    """A Responses API ``response``: one assistant message with one output_text part;
    ``finish_reason="length"`` becomes status ``incomplete`` (max_output_tokens),
    ``"content_filter"`` incomplete (content_filter), ``"tool_calls"`` a function call,
    ``"failed"`` status failed with an ``error`` (code ``server_error``)."""
    out_tokens = (
        script.output_tokens if script.output_tokens is not None else len(chunks_of(script))
    )
    incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}
    status, details, error = "completed", None, None
    if done and script.finish_reason in incomplete:
        status, details = "incomplete", {"reason": incomplete[script.finish_reason]}
    elif done and script.finish_reason == "failed":
        status = "failed"
        error = {"code": "server_error", "message": "scripted failed response"}
    output: list[dict[str, Any]] = []
    if done:
        output.append(
            {
                "type": "message",
                "id": f"msg_{rid}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
        calls = script.tool_calls or (
            [{"name": "lookup"}] if script.finish_reason == "tool_calls" else []
        )
        for i, call in enumerate(calls):
            suffix = f"_{i}" if i else ""
            output.append(
                {
                    "type": "function_call",
                    "id": f"fc_{rid}{suffix}",
                    "call_id": call.get("id") or f"call_{rid}{suffix}",
                    "name": str(call.get("name", "tool")),
                    "arguments": _arguments(call),
                    "status": "completed",
                }
            )
    payload: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "status": status if done else "in_progress",
        "incomplete_details": details,
        "error": error,
        "instructions": body.get("instructions"),
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "metadata": {},
        "temperature": body.get("temperature"),
        "top_p": None,
        "max_output_tokens": body.get("max_output_tokens"),
    }
    if done and script.include_usage:
        usage = chat_usage(script, body, out_tokens)
        payload["usage"] = {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": script.cached_tokens or 0},
            "output_tokens": out_tokens,
            "output_tokens_details": {"reasoning_tokens": script.reasoning_tokens or 0},
            "total_tokens": usage["total_tokens"],
        }
    return payload


def embeddings(script: Scripted, body: dict[str, Any], model: Any) -> dict[str, Any]:
    """An embeddings ``list``: deterministic vectors per input, base64 when asked (the openai
    client's default)."""
    inputs = body.get("input", "")
    items = (
        inputs
        if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int)
        else [inputs]
    )
    base64_format = body.get("encoding_format") == "base64"
    data = []
    for i, item in enumerate(items):
        seed = sum(ord(c) for c in str(item)) or 1
        vec = [math.sin(seed * (k + 1)) for k in range(script.embedding_dim)]
        emb: Any = vec
        if base64_format:
            emb = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": emb})
    payload: dict[str, Any] = {"object": "list", "data": data, "model": model}
    if script.include_usage:
        usage = chat_usage(script, {"input": inputs}, 0)
        payload["usage"] = {
            "prompt_tokens": usage["prompt_tokens"],
            "total_tokens": usage["prompt_tokens"],
        }
    return payload
