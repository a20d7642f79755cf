"""A loopback OpenAI-compatible HTTP server with scripted behaviour (tests, demos, benchmarks).

The real ``openai`` client (``OpenAI`` and ``AzureOpenAI``, sync and async) talks plain HTTP to it,
so instrumentation is tested without mocking the client. Standard library only; one daemon thread.

Stable API (others depend on it)::

    from llm_insights_kit.local.llm_standin import LLMStandin, Scripted

    with LLMStandin(deployments={"chat-prod": "gpt-4o-2024-08-06"}) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        azure = openai.AzureOpenAI(azure_endpoint=srv.azure_endpoint, api_key="x",
                                   api_version="2024-10-21", max_retries=0)
        srv.script(Scripted(text="Hi", latency=0.05))      # next request gets this (FIFO queue)
        srv.models["gpt-4o-mini"] = Scripted(output_tokens=3)  # per request-model behaviour
        srv.scenarios["slow"] = Scripted(latency=2.0)          # chosen by header x-standin-scenario
        ...
        srv.requests  # list[RecordedRequest]: method, path, query, headers, body (parsed JSON)

Routes: ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``POST /v1/responses`` (the
Responses API, streamed as typed ``response.*`` events) and the Azure paths
``POST /openai/deployments/{deployment}/chat/completions?api-version=…``,
``…/{deployment}/embeddings`` and ``/openai/v1/responses`` (the paths without ``/v1`` work too).

Which script answers a request, first match wins: the header ``x-standin-scenario: <name>``
(``srv.scenarios``, pre-filled with :data:`BUILTIN_SCENARIOS`), a model or deployment name of the
form ``standin-<scenario>`` (so a multi-process demo can drive it through the model name alone),
the FIFO queue filled by ``script()``, ``srv.models[request model or deployment]``, ``srv.default``.

Responses: the response ``model`` is ``Scripted.model`` if set, else for Azure paths the
deployment's real model from ``deployments`` (else the deployment name), else the request model.
Streams are SSE (``data: {...}`` lines, then ``data: [DONE]``); the final usage chunk (empty
``choices``) is sent only when the request asks ``stream_options.include_usage``, as OpenAI does.
Azure paths carry ``prompt_filter_results`` / ``content_filter_results`` like Azure OpenAI
(all ``safe`` unless scripted; a stream starts with a prompt-filter-only chunk). Embeddings honour
``encoding_format=base64`` (the openai client's default). Errors are OpenAI-shaped JSON bodies;
429 carries ``retry-after``; a content-filtered prompt is the Azure 400 with
``code: content_filter`` and ``innererror.content_filter_result``.

Run it standalone: ``python -m llm_insights_kit.local.llm_standin --port 8089``.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import math
import re
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "BUILTIN_SCENARIOS",
    "SAFE_FILTER",
    "LLMStandin",
    "RecordedRequest",
    "Scripted",
    "filter_results",
]

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
}


@dataclass
class RecordedRequest:
    """One request the stand-in received (body parsed as JSON when it is JSON)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    deployment: str | None = None
    scenario: str | None = None


_AZURE_PATH = re.compile(
    r"^/openai/deployments/(?P<dep>[^/]+)/(?P<op>chat/completions|embeddings|responses)$"
)
_PLAIN_PATH = re.compile(r"^(?:/openai)?(?:/v1)?/(?P<op>chat/completions|embeddings|responses)$")
_WORDS = re.compile(r"\S+\s*")


class LLMStandin:
    """The server. Use as a context manager; ``start()``/``stop()`` for long-lived processes."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default: Scripted | None = None,
        models: dict[str, Scripted] | None = None,
        deployments: dict[str, str] | None = None,
        scenarios: dict[str, Scripted] | None = None,
    ) -> None:
        self.default = default or Scripted()
        self.models: dict[str, Scripted] = dict(models or {})
        self.deployments: dict[str, str] = dict(deployments or {})
        self.scenarios: dict[str, Scripted] = {**BUILTIN_SCENARIOS, **(scenarios or {})}
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``openai.OpenAI(base_url=...)``."""
        return f"{self.url}/v1"

    @property
    def azure_endpoint(self) -> str:
        """For ``openai.AzureOpenAI(azure_endpoint=...)``."""
        return self.url

    def start(self) -> LLMStandin:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="llm-standin",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LLMStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------
    def script(self, *responses: Scripted) -> None:
        """Queue responses for the next requests, in order (after header/model scenarios)."""
        with self._lock:
            self._queue.extend(responses)

    def reset(self) -> None:
        """Forget queued scripts and recorded requests."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def _choose(self, headers: dict[str, str], model: str | None) -> tuple[Scripted, str | None]:
        name = headers.get(SCENARIO_HEADER)
        if name and name in self.scenarios:
            return self.scenarios[name], name
        if model and model.startswith(MODEL_SCENARIO_PREFIX):
            name = model[len(MODEL_SCENARIO_PREFIX) :]
            if name in self.scenarios:
                return self.scenarios[name], name
        with self._lock:
            if self._queue:
                return self._queue.popleft(), None
        if model and model in self.models:
            return self.models[model], None
        return self.default, None

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}-standin-{next(self._ids)}"


def _handler_for(standin: LLMStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        server_standin = standin

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms
    # to every keep-alive response, hiding any client-side cost (benchmarks, latency tests).
    disable_nagle_algorithm = True
    server_standin: LLMStandin

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        if urlsplit(self.path).path in ("/", "/health", "/healthz"):
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, {"error": {"message": "not found", "code": "not_found"}})

    def do_POST(self) -> None:
        standin = self.server_standin
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        azure = _AZURE_PATH.match(parts.path)
        plain = _PLAIN_PATH.match(parts.path)
        match = azure or plain
        deployment = azure.group("dep") if azure else None
        model = deployment or (body.get("model") if isinstance(body, dict) else None)
        script, scenario = standin._choose(headers, model)
        standin.requests.append(
            RecordedRequest(
                "POST", parts.path, parse_qs(parts.query), headers, body, deployment, scenario
            )
        )
        if match is None or not isinstance(body, dict):
            self._send_json(404, {"error": {"message": f"no route {parts.path}", "code": "404"}})
            return
        if script.latency and not (body.get("stream") and script.status == 200):
            time.sleep(script.latency)
        if script.reject_stream_options and "stream_options" in body:
            self._send_error_json(
                replace(
                    script,
                    status=400,
                    error_code=None,
                    error_message="Unrecognized request argument supplied: stream_options",
                )
            )
            return
        if script.status != 200:
            self._send_error_json(script)
            return
        response_model = script.model or (
            standin.deployments.get(deployment, deployment) if deployment else body.get("model")
        )
        if match.group("op") == "embeddings":
            self._embeddings(standin, script, body, response_model)
        elif match.group("op") == "responses":
            self._responses(standin, script, body, response_model)
        elif body.get("stream"):
            self._stream(standin, script, body, response_model, azure=bool(azure))
        else:
            self._chat(standin, script, body, response_model, azure=bool(azure))

    # -- responses -------------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_error_json(self, script: Scripted) -> None:
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
        extra = {}
        if script.retry_after is not None:
            extra["retry-after"] = format(script.retry_after, "g")
        self._send_json(script.status, {"error": error}, extra)

    def _usage(self, script: Scripted, body: dict[str, Any], output_tokens: int) -> dict[str, Any]:
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

    def _chunks(self, script: Scripted) -> list[str]:
        return script.chunks if script.chunks is not None else _WORDS.findall(script.text)

    def _chat(
        self,
        standin: LLMStandin,
        script: Scripted,
        body: dict[str, Any],
        model: Any,
        *,
        azure: bool,
    ) -> None:
        chunks = self._chunks(script)
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
                    "id": call.get("id") or standin._next_id("call"),
                    "type": "function",
                    "function": {
                        "name": str(call.get("name", "tool")),
                        "arguments": call["arguments"]
                        if isinstance(call.get("arguments"), str)
                        else json.dumps(call.get("arguments") or {}),
                    },
                }
                for call in script.tool_calls
            ]
        payload: dict[str, Any] = {
            "id": script.response_id or standin._next_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [choice],
        }
        if script.include_usage:
            payload["usage"] = self._usage(script, body, out_tokens)
        if azure or script.prompt_filter is not None:
            payload["prompt_filter_results"] = [
                {"prompt_index": 0, "content_filter_results": script.prompt_filter or SAFE_FILTER}
            ]
        if azure or script.completion_filter is not None:
            choice["content_filter_results"] = script.completion_filter or SAFE_FILTER
        self._send_json(200, payload)

    def _stream(
        self,
        standin: LLMStandin,
        script: Scripted,
        body: dict[str, Any],
        model: Any,
        *,
        azure: bool,
    ) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = self._chunks(script)
        out_tokens = script.output_tokens if script.output_tokens is not None else len(chunks)
        rid = script.response_id or standin._next_id("chatcmpl")
        created = int(time.time())

        def event(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            return {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }

        self._start_sse()
        try:
            if script.latency:
                time.sleep(script.latency)
            if azure or script.prompt_filter is not None:
                self._sse(
                    {
                        **event([]),
                        "model": "",
                        "prompt_filter_results": [
                            {
                                "prompt_index": 0,
                                "content_filter_results": script.prompt_filter or SAFE_FILTER,
                            }
                        ],
                    }
                )
            ttft = script.ttft if script.ttft is not None else 0.0
            if ttft:
                time.sleep(ttft)
            for i, piece in enumerate(chunks):
                if i and script.chunk_interval:
                    time.sleep(script.chunk_interval)
                if script.fail_after_chunks is not None and i >= script.fail_after_chunks:
                    self._sse({"error": {"message": "scripted mid-stream failure", "code": "500"}})
                    return
                delta: dict[str, Any] = {"content": piece}
                if i == 0:
                    delta["role"] = "assistant"
                choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
                if azure:
                    choice["content_filter_results"] = {}
                extra: dict[str, Any] = {}
                if script.continuous_usage and script.include_usage:
                    extra["usage"] = self._usage(script, body, i + 1)
                elif include_usage:
                    extra["usage"] = None
                self._sse(event([choice], **extra))
            final: dict[str, Any] = {"index": 0, "delta": {}, "finish_reason": script.finish_reason}
            if azure or script.completion_filter is not None:
                final["content_filter_results"] = script.completion_filter or SAFE_FILTER
            extra = {"usage": None} if include_usage else {}
            if script.continuous_usage and script.include_usage:
                extra = {"usage": self._usage(script, body, out_tokens)}
            self._sse(event([final], **extra))
            if include_usage and script.include_usage:
                self._sse(event([], usage=self._usage(script, body, out_tokens)))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client closed the stream early
            return

    # -- the Responses API (POST /v1/responses) --------------------------------------------
    def _response_object(
        self, script: Scripted, body: dict[str, Any], model: Any, rid: str, text: str, done: bool
    ) -> dict[str, Any]:
        """A Responses API ``response``: one assistant message with one output_text part;
        ``finish_reason="length"`` becomes status ``incomplete`` (max_output_tokens),
        ``"content_filter"`` incomplete (content_filter), ``"tool_calls"`` a function call,
        ``"failed"`` status failed with an ``error`` (code ``server_error``)."""
        out_tokens = (
            script.output_tokens if script.output_tokens is not None else len(self._chunks(script))
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
            if script.finish_reason == "tool_calls":
                output.append(
                    {
                        "type": "function_call",
                        "id": f"fc_{rid}",
                        "call_id": f"call_{rid}",
                        "name": "lookup",
                        "arguments": "{}",
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
            usage = self._usage(script, body, out_tokens)
            payload["usage"] = {
                "input_tokens": usage["prompt_tokens"],
                "input_tokens_details": {"cached_tokens": script.cached_tokens or 0},
                "output_tokens": out_tokens,
                "output_tokens_details": {"reasoning_tokens": script.reasoning_tokens or 0},
                "total_tokens": usage["total_tokens"],
            }
        return payload

    def _responses(
        self, standin: LLMStandin, script: Scripted, body: dict[str, Any], model: Any
    ) -> None:
        chunks = self._chunks(script)
        rid = script.response_id or standin._next_id("resp")
        if not body.get("stream"):
            self._send_json(
                200, self._response_object(script, body, model, rid, "".join(chunks), True)
            )
            return
        self._start_sse()
        seq = itertools.count()

        def event(kind: str, **fields: Any) -> None:
            payload = {"type": kind, "sequence_number": next(seq), **fields}
            self.wfile.write(f"event: {kind}\n".encode())
            self._sse(payload)

        try:
            if script.latency:
                time.sleep(script.latency)
            event(
                "response.created",
                response=self._response_object(script, body, model, rid, "", False),
            )
            if script.ttft:
                time.sleep(script.ttft)
            item = f"msg_{rid}"
            message = {
                "type": "message", "id": item, "status": "in_progress", "role": "assistant",
                "content": [],
            }  # fmt: skip
            part = {"type": "output_text", "text": "", "annotations": []}
            event("response.output_item.added", output_index=0, item=message)
            event(
                "response.content_part.added",
                item_id=item, output_index=0, content_index=0, part=part,
            )  # fmt: skip
            for i, piece in enumerate(chunks):
                if i and script.chunk_interval:
                    time.sleep(script.chunk_interval)
                if script.fail_after_chunks is not None and i >= script.fail_after_chunks:
                    event(
                        "error",
                        code="server_error",
                        message="scripted mid-stream failure",
                        param=None,
                    )
                    return
                event(
                    "response.output_text.delta",
                    item_id=item, output_index=0, content_index=0, delta=piece, logprobs=[],
                )  # fmt: skip
            final = self._response_object(script, body, model, rid, "".join(chunks), True)
            text = "".join(chunks)
            event(
                "response.output_text.done",
                item_id=item, output_index=0, content_index=0, text=text, logprobs=[],
            )  # fmt: skip
            event(
                "response.content_part.done",
                item_id=item, output_index=0, content_index=0, part={**part, "text": text},
            )  # fmt: skip
            event("response.output_item.done", output_index=0, item=final["output"][0])
            done = {"incomplete": "response.incomplete", "failed": "response.failed"}.get(
                final["status"], "response.completed"
            )
            event(done, response=final)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client closed the stream early
            return

    def _start_sse(self) -> None:
        """200 with an event-stream body that ends when the connection closes."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

    def _sse(self, payload: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()

    def _embeddings(
        self, standin: LLMStandin, script: Scripted, body: dict[str, Any], model: Any
    ) -> None:
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
            usage = self._usage(script, {"input": inputs}, 0)
            payload["usage"] = {
                "prompt_tokens": usage["prompt_tokens"],
                "total_tokens": usage["prompt_tokens"],
            }
        self._send_json(200, payload)


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted (for multi-process demos: drive it with model ``standin-<name>``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument(
        "--deployment",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="Azure deployment name and the model it serves (repeatable)",
    )
    args = parser.parse_args(argv)
    deployments = dict(d.split("=", 1) for d in args.deployment if "=" in d)
    srv = LLMStandin(host=args.host, port=args.port, deployments=deployments).start()
    print(f"llm stand-in on {srv.url} (OpenAI base_url {srv.base_url})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
