"""``llm_call()``: the same telemetry as an instrumented openai call, for any other client."""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from . import contract as c
from ._call import USAGE_FIELDS_LLM_CALL, LLMCall
from ._guard import guarded, report


class llm_call:
    """Record one call to an LLM the kit does not patch::

        with llm_insights.llm_call(provider="anthropic", model="claude-x") as call:
            reply = client.messages.create(...)
            call.record_usage(input_tokens=..., output_tokens=...)
            call.record_completion(reply_text)

    An exception leaving the block marks the call failed (``error.type``) and propagates.
    """

    def __init__(
        self,
        *,
        provider: str,
        model: str | None,
        operation: str = c.OPERATION_CHAT,
        server_address: str | None = None,
        deployment: str | None = None,
        stream: bool = False,
        messages: Any = None,
        **attributes: Any,
    ) -> None:
        self._kw = dict(
            operation=operation if isinstance(operation, str) else c.OPERATION_CHAT,
            provider=provider if isinstance(provider, str) else c.ERROR_TYPE_OTHER,
            request_model=model,
            server_address=server_address,
            deployment=deployment,
            streaming=bool(stream),
            request_attributes=attributes,
            messages=messages,
        )
        self._call: LLMCall | None = None
        self._token: Any = None
        # (call, token) of outer uses while the same instance is entered again: the inner call
        # is recorded on its own and the outer one is restored at the inner exit
        self._outer: list[tuple[LLMCall | None, Any]] = []

    @guarded("llm_call.enter")
    def _begin(self) -> None:
        if self._call is not None and not self._call.done:  # already active: nest
            self._outer.append((self._call, self._token))
            self._call = self._token = None
        self._call = LLMCall(**self._kw)
        self._token = otel_context.attach(trace.set_span_in_context(self._call.span))

    def __enter__(self) -> llm_call:
        self._begin()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        self._end(exc)
        return False

    async def __aenter__(self) -> llm_call:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        return self.__exit__(exc_type, exc, tb)

    @guarded("llm_call.exit")
    def _end(self, exc: BaseException | None) -> None:
        if self._token is not None:
            try:
                otel_context.detach(self._token)
            except Exception as e:
                report("llm_call.detach", e)
            self._token = None
        call = self._call
        if call is None:
            return
        try:
            if exc is not None:
                call.fail(exc)
            if call.streaming and call.stream_end is None:
                call.stream_end = c.STREAM_END_ERROR if exc is not None else c.STREAM_END_COMPLETED
            call.finish()
        finally:
            if self._outer:  # back to the outer use of this instance
                self._call, self._token = self._outer.pop()

    # -- what the app reports ------------------------------------------------------------------
    @guarded("llm_call.record_usage")
    def record_usage(
        self,
        input_tokens: Any = None,
        output_tokens: Any = None,
        *,
        cached_input_tokens: Any = None,
        cache_creation_input_tokens: Any = None,
        reasoning_output_tokens: Any = None,
        input_audio_tokens: Any = None,
        output_audio_tokens: Any = None,
        input_image_tokens: Any = None,
        output_image_tokens: Any = None,
    ) -> None:
        """Token counts as the provider reported them. The detail counts are parts of the two
        totals (cached, cache-write, audio and image input tokens inside ``input_tokens``;
        reasoning and audio/image output tokens inside ``output_tokens``), priced at their rates."""
        if self._call is not None:
            self._call.set_usage(
                input_tokens,
                output_tokens,
                cached_input_tokens,
                cache_creation_input_tokens,
                reasoning_output_tokens,
                input_audio_tokens,
                output_audio_tokens,
                input_image_tokens,
                output_image_tokens,
                fields=USAGE_FIELDS_LLM_CALL,
            )

    @guarded("llm_call.record_completion")
    def record_completion(self, text: Any, *, finish_reason: Any = None, index: int = 0) -> None:
        if self._call is not None:
            self._call.add_text(text, index, finish_reason)

    @guarded("llm_call.record_chunk")
    def record_chunk(self, text: Any = None) -> None:
        """Streaming: a chunk arrived (the first one with text sets time to first token)."""
        if self._call is not None:
            self._call.chunk(bool(text))
            if text:
                self._call.add_text(text)

    @guarded("llm_call.record_response")
    def record_response(self, *, model: Any = None, id: Any = None) -> None:
        if self._call is not None:
            self._call.set_response(model, id)

    @guarded("llm_call.record_content_filter")
    def record_content_filter(self, results: Any, *, source: str = c.FILTER_SOURCE_COMPLETION):
        """Azure-style ``{category: {"severity": ..., "filtered": ...}}`` results."""
        if self._call is not None:
            self._call.filters.add_results(source, results)

    @property
    def span(self) -> Any:
        return self._call.span if self._call is not None else trace.INVALID_SPAN
