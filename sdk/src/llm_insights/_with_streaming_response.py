"""``with_streaming_response``: the body is read when the app reads it, so the call is recorded
then.

openai hands the app an unread ``APIResponse`` inside a context manager. The proxy records the
call when the app parses the body (``parse()``: a completion is read like any other, a stream is
proxied like any other stream), reads it as JSON (``json()``), or closes the response without
either (duration to the close, usage unknown) — and at garbage collection if none of that
happens. Every other attribute (headers, ``iter_lines()``, ``http_response``) is the response's
own.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import wrapt

from . import contract as c
from ._call import LLMCall
from ._guard import report


def finish_unread(call: LLMCall) -> None:
    """The response was closed (or collected) before its body was recorded."""
    try:
        if call.done:
            return
        if call.streaming and call.stream_end is None:
            call.stream_end = c.STREAM_END_CLOSED
        call.finish()
    except Exception as exc:
        report("openai.streaming_response", exc)


class _Base(wrapt.ObjectProxy):
    def __init__(self, wrapped: Any, call: LLMCall, on_body: Callable[[Any], Any]) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_on_body = on_body  # records a parsed body; returns what the app gets
        self._self_seen: Any = None
        self._self_given: Any = None
        weakref.finalize(self, finish_unread, call)

    def _self_body(self, body: Any) -> Any:
        # openai caches parse(): the same body again gets the same (proxied) object again
        if body is not None and body is self._self_seen:
            return self._self_given
        given = self._self_on_body(body)
        self._self_seen, self._self_given = body, given
        return given


class StreamingResponseProxy(_Base):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_body(self.__wrapped__.parse(*args, **kwargs))

    def json(self, *args: Any, **kwargs: Any) -> Any:
        data = self.__wrapped__.json(*args, **kwargs)
        self._self_body(data)
        return data

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            finish_unread(self._self_call)


class AsyncStreamingResponseProxy(_Base):
    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_body(await self.__wrapped__.parse(*args, **kwargs))

    async def json(self, *args: Any, **kwargs: Any) -> Any:
        data = await self.__wrapped__.json(*args, **kwargs)
        self._self_body(data)
        return data

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            finish_unread(self._self_call)
