"""The OpenAI Responses API (``client.responses.create`` / ``parse`` / ``stream``) as LLM calls.

A response is recorded like a chat completion (operation ``chat``): model and id, usage
(``input_tokens``, ``output_tokens``, ``input_tokens_details.cached_tokens``), cost, the text of
its ``output_text`` parts for length and quality signals, and a finish reason mapped from its
status — ``completed`` → ``stop`` (``tool_calls`` when it asked for a tool),
``incomplete`` → ``length`` (``max_output_tokens``) or ``content_filter``, ``failed`` → an error
(``error.type`` = its error code, else ``response_failed``). Streams are typed events: text
deltas time the first chunk and the gaps; the terminal ``response.completed`` /
``response.incomplete`` / ``response.failed`` event carries the usage. Nothing is injected into
the request: Responses streams always end with their usage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from . import contract as c
from ._call import USAGE_FIELDS_RESPONSES, LLMCall
from ._fields import get, getter
from ._guard import report
from ._stream_proxy import StreamState

_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
_TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_START_EVENTS = frozenset({"response.created", "response.in_progress"})
# deltas that are model output (time to first chunk) besides output text
_OUTPUT_DELTAS = frozenset(
    {
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.reasoning_summary_text.delta",
        "response.audio.delta",
    }
)


def request_messages(kwargs: Mapping[str, Any]) -> list[Any]:
    """``instructions`` and ``input`` as chat-style messages (for opt-in content capture)."""
    out: list[Any] = []
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str):
        out.append({"role": "system", "content": instructions})
    given = kwargs.get("input")
    if isinstance(given, str):
        out.append({"role": "user", "content": given})
    elif isinstance(given, (list, tuple)):
        out.extend(item for item in given if isinstance(item, Mapping) and "role" in item)
    return out


def _text_and_reason(resp: Any) -> tuple[str | None, str | None]:
    texts: list[str] = []
    tool = False
    for item in get(resp, "output") or ():
        kind = get(item, "type")
        if kind == "message":
            for part in get(item, "content") or ():
                text = get(part, "text")
                if get(part, "type") == "output_text" and isinstance(text, str):
                    texts.append(text)
        elif isinstance(kind, str) and kind.endswith("_call"):
            tool = True
    status = get(resp, "status")
    reason: str | None = None
    if status == "completed":
        reason = "tool_calls" if tool else "stop"
    elif status == "incomplete":
        why = get(get(resp, "incomplete_details"), "reason")
        reason = _INCOMPLETE_REASONS.get(why, str(why) if isinstance(why, str) else "incomplete")
    return ("".join(texts) if texts else None), reason


def _record_end(call: LLMCall, resp: Any, with_text: bool) -> None:
    """Model, id, usage, finish reason (and, for non-streamed responses, the text)."""
    call.set_response(get(resp, "model"), get(resp, "id"))
    call.set_usage_from(get(resp, "usage"), USAGE_FIELDS_RESPONSES)
    text, reason = _text_and_reason(resp)
    call.add_text(text if with_text else None, 0, reason)
    if get(resp, "status") == "failed":
        code = get(get(resp, "error"), "code")
        call.error_type = (
            code[: c.FINISH_REASON_MAX_CHARS]
            if isinstance(code, str) and code
            else c.ERROR_TYPE_RESPONSE_FAILED
        )


def record_response(call: LLMCall, resp: Any) -> None:
    """A complete (non-streamed) Response."""
    _record_end(call, resp, with_text=True)


class ResponsesStreamState(StreamState):
    """``StreamState`` for Responses API event streams (nothing is hidden from the app)."""

    def on_chunk(self, chunk: Any) -> bool:
        try:
            call = self.call
            self.last_activity = time.perf_counter()
            g = getter(chunk)
            kind = g("type")
            if kind == "response.output_text.delta":
                delta = g("delta")
                call.add_text(delta, 0)
                call.chunk(bool(delta))
            elif kind in _OUTPUT_DELTAS:
                call.chunk(True)
            elif kind in _START_EVENTS:
                response = g("response")
                call.set_response(get(response, "model"), get(response, "id"))
            elif kind in _TERMINAL_EVENTS:
                _record_end(call, g("response"), with_text=False)
        except Exception as exc:
            report("responses.event", exc)
        return True
