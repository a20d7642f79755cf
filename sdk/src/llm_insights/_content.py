"""Opt-in prompt/completion capture: redacted in process, then cut to fit the exporter.

Content leaves the process only when enabled (``capture_content=True``, ``"on_error"``, or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``). Every text part goes through the app's
``redact(text) -> text`` first; if redaction fails the part is replaced, never sent raw. Each
attribute is JSON in the GenAI conventions' message format, at most ``CONTENT_MAX_CHARS``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import _state
from . import contract as c
from ._guard import report
from ._quality import clean_text

REDACTION_FAILED = "[redaction failed]"
_MARK = "…[truncated]"


def should_capture(failed: bool) -> bool:
    s = _state.settings
    if s.capture_content == _state.CONTENT_ON:
        return True
    if s.capture_content == _state.CONTENT_ON_ERROR and failed:
        return s.content_sample_rate >= 1 or random.random() < s.content_sample_rate
    return False


def redact(text: str, hook: Callable[[str], str] | None) -> str:
    """*text* through the app's redaction *hook* (a failing hook: a marker, never the text)."""
    if hook is None:
        return text
    try:
        out = hook(text)
        return out if isinstance(out, str) else REDACTION_FAILED
    except Exception as exc:
        report("content.redact", exc)
        return REDACTION_FAILED


def content_text(value: Any) -> str:
    """Tool arguments or result as captured text: JSON (str as is), redacted, cut to fit."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    except Exception as exc:  # an object json cannot walk (cycles): its repr
        report("tool.content", exc)
        text = repr(value)
    text = redact(text, _state.settings.redact)
    if len(text) > c.CONTENT_MAX_CHARS:
        text = text[: c.CONTENT_MAX_CHARS - len(_MARK)] + _MARK
    return text


_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    text = clean_text(content)
    if text is not None:
        return [{"type": "text", "content": text}]
    out: list[dict[str, Any]] = []
    if isinstance(content, Iterable) and not isinstance(content, Mapping):
        for part in content:
            if isinstance(part, Mapping):
                kind = str(part.get("type", "text"))
                # chat "text" parts; Responses API "input_text" / "output_text" parts
                if kind in _TEXT_PARTS and clean_text(part.get("text")) is not None:
                    out.append({"type": "text", "content": clean_text(part.get("text"))})
                else:
                    out.append({"type": kind})  # images/audio/files: type only, never the data
    return out


def input_messages(messages: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(messages, (str, bytes)):
        return [{"role": "user", "parts": _parts(messages)}]
    if not isinstance(messages, Iterable):
        return out
    for m in messages:
        if not isinstance(m, Mapping):
            continue
        msg: dict[str, Any] = {
            "role": str(m.get("role", "user")),
            "parts": _parts(m.get("content")),
        }
        for call in m.get("tool_calls") or ():
            fn = call.get("function", {}) if isinstance(call, Mapping) else {}
            msg["parts"].append({"type": "tool_call", "name": fn.get("name"), "id": call.get("id")})
        out.append(msg)
    return out


def output_messages(texts: list[str | None], finish_reasons: list[str | None]) -> list[dict]:
    out = []
    for i, text in enumerate(texts):
        reason = finish_reasons[i] if i < len(finish_reasons) else None
        out.append({"role": "assistant", "parts": _parts(text), "finish_reason": reason})
    return out


def serialize(messages: list[dict[str, Any]], limit: int = c.CONTENT_MAX_CHARS) -> tuple[str, bool]:
    """Redacted JSON of *messages*, at most *limit* characters; True when something was cut."""
    hook = _state.settings.redact
    for msg in messages:
        for part in msg.get("parts", ()):
            if "content" in part:
                part["content"] = redact(part["content"], hook)
    text = json.dumps(messages, ensure_ascii=False, sort_keys=True)
    if len(text) <= limit:
        return text, False
    texts = [p for m in messages for p in m.get("parts", ()) if isinstance(p.get("content"), str)]
    for _ in range(8):  # shrink the longest parts until the JSON fits
        over = len(text) - limit
        if over <= 0 or not texts:
            break
        longest = max(texts, key=lambda p: len(p["content"]))
        keep = max(0, len(longest["content"]) - over - len(_MARK) - 16)
        longest["content"] = longest["content"][:keep] + _MARK
        text = json.dumps(messages, ensure_ascii=False, sort_keys=True)
    if len(text) > limit:  # pathological (thousands of tiny parts): keep valid JSON, drop content
        text = json.dumps([{"role": "system", "parts": [{"type": "text", "content": _MARK}]}])
    return text, True
