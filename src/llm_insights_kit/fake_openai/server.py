"""The fake server: routes OpenAI and Azure OpenAI paths, picks a script per request, streams
chat and Responses API events, records every request (see the package docstring)."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..loopback import LoopbackHTTPServer
from . import payloads
from .scripted import (
    BUILTIN_SCENARIOS,
    MODEL_SCENARIO_PREFIX,
    SAFE_FILTER,
    SCENARIO_HEADER,
    Scripted,
    chunks_of,
)


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


class FakeOpenAI:
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
        self._server = LoopbackHTTPServer((host, port), _handler_for(self))
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

    def start(self) -> FakeOpenAI:
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

    def __enter__(self) -> FakeOpenAI:
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


def _handler_for(fake_openai: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        server_standin = fake_openai

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms
    # to every keep-alive response, hiding any client-side cost (benchmarks, latency tests).
    disable_nagle_algorithm = True
    server_standin: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        if urlsplit(self.path).path in ("/", "/health", "/healthz"):
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, {"error": {"message": "not found", "code": "not_found"}})

    def do_POST(self) -> None:
        fake_openai = self.server_standin
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
        script, scenario = fake_openai._choose(headers, model)
        fake_openai.requests.append(
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
            fake_openai.deployments.get(deployment, deployment) if deployment else body.get("model")
        )
        if match.group("op") == "embeddings":
            self._embeddings(fake_openai, script, body, response_model)
        elif match.group("op") == "responses":
            self._responses(fake_openai, script, body, response_model)
        elif body.get("stream"):
            self._stream(fake_openai, script, body, response_model, azure=bool(azure))
        else:
            self._chat(fake_openai, script, body, response_model, azure=bool(azure))

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
        body, extra = payloads.error(script)
        self._send_json(script.status, body, extra)

    def _chat(
        self,
        fake_openai: FakeOpenAI,
        script: Scripted,
        body: dict[str, Any],
        model: Any,
        *,
        azure: bool,
    ) -> None:
        payload = payloads.chat_completion(script, body, model, fake_openai._next_id, azure=azure)
        self._send_json(200, payload)

    def _stream(
        self,
        fake_openai: FakeOpenAI,
        script: Scripted,
        body: dict[str, Any],
        model: Any,
        *,
        azure: bool,
    ) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = chunks_of(script)
        out_tokens = script.output_tokens if script.output_tokens is not None else len(chunks)
        rid = script.response_id or fake_openai._next_id("chatcmpl")
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
                    extra["usage"] = payloads.chat_usage(script, body, i + 1)
                elif include_usage:
                    extra["usage"] = None
                self._sse(event([choice], **extra))
            final: dict[str, Any] = {"index": 0, "delta": {}, "finish_reason": script.finish_reason}
            if azure or script.completion_filter is not None:
                final["content_filter_results"] = script.completion_filter or SAFE_FILTER
            extra = {"usage": None} if include_usage else {}
            if script.continuous_usage and script.include_usage:
                extra = {"usage": payloads.chat_usage(script, body, out_tokens)}
            self._sse(event([final], **extra))
            if include_usage and script.include_usage:
                self._sse(event([], usage=payloads.chat_usage(script, body, out_tokens)))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client closed the stream early
            return

    # -- the Responses API (POST /v1/responses) --------------------------------------------
    def _responses(
        self, fake_openai: FakeOpenAI, script: Scripted, body: dict[str, Any], model: Any
    ) -> None:
        chunks = chunks_of(script)
        rid = script.response_id or fake_openai._next_id("resp")
        if not body.get("stream"):
            self._send_json(
                200, payloads.response_object(script, body, model, rid, "".join(chunks), True)
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
                response=payloads.response_object(script, body, model, rid, "", False),
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
            final = payloads.response_object(script, body, model, rid, "".join(chunks), True)
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
        self, fake_openai: FakeOpenAI, script: Scripted, body: dict[str, Any], model: Any
    ) -> None:
        self._send_json(200, payloads.embeddings(script, body, model))
