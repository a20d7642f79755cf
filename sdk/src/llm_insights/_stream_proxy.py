"""Stream proxies: the app iterates exactly the stream it asked for; the SDK watches.

The proxy forwards iteration, ``with``, ``close()``, ``.response`` and every other attribute to
the openai ``Stream``/``AsyncStream``. It times the first content chunk and the gaps between
chunks, keeps the last usage seen (so an error mid-stream keeps partial usage), hides the
usage-only final chunk only when the SDK itself asked for it, and records the call once: when
the stream is exhausted, closed, fails, or is garbage-collected never consumed.

openai's ``chat.completions.stream()`` helper wraps such a (proxied) stream in an event stream
whose ``with`` exit closes the HTTP response directly; its manager is proxied too, so leaving the
``with`` block records a stream the app did not exhaust as closed, right then.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

import wrapt

from . import contract as c
from ._call import USAGE_FIELDS_OPENAI, LLMCall
from ._fields import getter
from ._guard import report


class StreamState:
    """What one stream has shown so far; ``end()`` records the call (first reason wins)."""

    def __init__(self, call: LLMCall, hide_usage_chunk: bool) -> None:
        self.call = call
        self.hide_usage_chunk = hide_usage_chunk
        self.last_activity = time.perf_counter()

    def on_chunk(self, chunk: Any) -> bool:
        """Read one chunk; False when the app must not see it. Never raises.

        Runs once per chunk on the app's thread, so each object's fields are read at once
        (``getter``) and the response model and id only until they are known."""
        try:
            call = self.call
            self.last_activity = time.perf_counter()
            g = getter(chunk)
            if call.response_model is None or call.response_id is None:
                call.set_response(g("model"), g("id"))
            prompt_results = g("prompt_filter_results")
            if prompt_results is not None:
                call.filters.add_prompt_filter_results(prompt_results)
            usage = g("usage")
            call.set_usage_from(usage, USAGE_FIELDS_OPENAI)
            choices = g("choices") or []
            has_content = False
            for choice in choices:
                gc = getter(choice)
                gd = getter(gc("delta"))
                text = gd("content")
                index = gc("index")
                index = index if isinstance(index, int) and 0 <= index < 128 else 0
                call.add_text(text, index, gc("finish_reason"))
                if text or gd("tool_calls") or gd("refusal"):
                    has_content = True
                filter_results = gc("content_filter_results")
                if filter_results is not None:
                    call.filters.add_results(c.FILTER_SOURCE_COMPLETION, filter_results)
            call.chunk(has_content)
            return not (self.hide_usage_chunk and not choices and usage is not None)
        except Exception as exc:
            report("stream.chunk", exc)
            return True

    def end(self, reason: str, exc: BaseException | None = None) -> None:
        try:
            call = self.call
            if call.done:
                return
            call.stream_end = reason
            if exc is not None:
                call.fail(exc)
            end = self.last_activity if reason == c.STREAM_END_ABANDONED else None
            call.finish(end)
        except Exception as e:
            report("stream.end", e)


class SyncStreamProxy(wrapt.ObjectProxy):
    def __init__(self, wrapped: Any, state: StreamState) -> None:
        super().__init__(wrapped)
        self._self_state = state
        self._self_iter = None
        weakref.finalize(self, state.end, c.STREAM_END_ABANDONED)

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        state = self._self_state
        if self._self_iter is None:
            self._self_iter = iter(self.__wrapped__)
        while True:
            try:
                chunk = next(self._self_iter)
            except StopIteration:
                state.end(c.STREAM_END_COMPLETED)
                raise
            except Exception as exc:
                state.end(c.STREAM_END_ERROR, exc)
                raise
            if state.on_chunk(chunk):
                return chunk

    def __enter__(self) -> Any:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc)
        finally:
            self._self_state.end(c.STREAM_END_CLOSED)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_state.end(c.STREAM_END_CLOSED)


class AsyncStreamProxy(wrapt.ObjectProxy):
    def __init__(self, wrapped: Any, state: StreamState) -> None:
        super().__init__(wrapped)
        self._self_state = state
        self._self_iter = None
        weakref.finalize(self, state.end, c.STREAM_END_ABANDONED)

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        state = self._self_state
        if self._self_iter is None:
            self._self_iter = self.__wrapped__.__aiter__()
        while True:
            try:
                chunk = await self._self_iter.__anext__()
            except StopAsyncIteration:
                state.end(c.STREAM_END_COMPLETED)
                raise
            except Exception as exc:
                state.end(c.STREAM_END_ERROR, exc)
                raise
            if state.on_chunk(chunk):
                return chunk

    async def __aenter__(self) -> Any:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc)
        finally:
            self._self_state.end(c.STREAM_END_CLOSED)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_state.end(c.STREAM_END_CLOSED)


def _end_closed(event_stream: Any) -> None:
    """The manager's ``with`` block ended: a stream not yet recorded was closed early."""
    try:
        raw = getattr(event_stream, "_raw_stream", None)
        if isinstance(raw, (SyncStreamProxy, AsyncStreamProxy)):
            raw._self_state.end(c.STREAM_END_CLOSED)
    except Exception as exc:
        report("stream.helper_close", exc)


class StreamManagerProxy(wrapt.ObjectProxy):
    """``chat.completions.stream()``'s manager: records an early close at ``with`` exit."""

    def __init__(self, wrapped: Any) -> None:
        super().__init__(wrapped)
        self._self_stream = None

    def __enter__(self) -> Any:
        self._self_stream = self.__wrapped__.__enter__()
        return self._self_stream

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc)
        finally:
            _end_closed(self._self_stream)


class AsyncStreamManagerProxy(wrapt.ObjectProxy):
    """The async ``stream()`` manager: records an early close at ``async with`` exit."""

    def __init__(self, wrapped: Any) -> None:
        super().__init__(wrapped)
        self._self_stream = None

    async def __aenter__(self) -> Any:
        self._self_stream = await self.__wrapped__.__aenter__()
        return self._self_stream

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc)
        finally:
            _end_closed(self._self_stream)
