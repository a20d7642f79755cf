"""Application-level spans: ``agent``, ``chain``, ``retrieval``, ``tool`` (context managers and
decorators, sync and async, generators too), ``llm_call`` for clients the kit does not patch, and
``attributes`` for the user/session/tenant/conversation ids that go on spans only, never on
metrics.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import _agent, _state
from . import contract as c
from ._content import content_text, should_capture
from ._guard import guarded, report
from ._metrics import finite_number

_span_attrs: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "llm_insights_span_attributes", default=None
)

_ID_KEYS = {
    "user_id": c.ENDUSER_ID,
    "session_id": c.SESSION_ID,
    "tenant_id": c.ATTR_TENANT_ID,
    "conversation_id": c.GEN_AI_CONVERSATION_ID,
}


def current_span_attributes() -> dict[str, Any]:
    return _span_attrs.get() or {}


def _id_attrs(kw: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in kw.items():
        key = _ID_KEYS.get(k, k)
        if v is not None and isinstance(v, (str, bool, int, float)):
            out[key] = v
    return out


class attributes:
    """Put ids on every span started inside (``user_id``, ``session_id``, ``tenant_id``,
    ``conversation_id`` → ``gen_ai.conversation.id``, or any attribute key). Span-only: metric
    dimensions come from the contract's allow-list.
    """

    def __init__(
        self,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        tenant_id: str | None = None,
        **extra: Any,
    ) -> None:
        self._attrs = _id_attrs(
            {"user_id": user_id, "session_id": session_id, "tenant_id": tenant_id, **extra}
        )
        # one (token, previous value) per active entry: the same instance may be entered again
        # while active (nested reuse), so a single token would be reset twice
        self._entries: list[tuple[Any, dict[str, Any] | None]] = []

    def __enter__(self) -> attributes:
        try:
            previous = _span_attrs.get()
            token = _span_attrs.set({**(previous or {}), **self._attrs})
            self._entries.append((token, previous))
        except Exception as e:
            report("spans.attributes", e)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if not self._entries:
                return
            token, previous = self._entries.pop()
            try:
                _span_attrs.reset(token)
            except (ValueError, RuntimeError) as e:
                # exited in another contextvars context (a generator driven from copied
                # contexts, e.g. Starlette's iterate_in_threadpool) or a token already used:
                # restore what this entry replaced instead of raising into the app
                report("spans.attributes", e)
                _span_attrs.set(previous)
        except Exception as e:
            report("spans.attributes", e)


class _Step:
    """Base of chain/retrieval/tool: one span per use, as ``with`` or as a decorator."""

    operation = ""
    kind = SpanKind.INTERNAL

    def __init__(self, name: str, **attrs: Any) -> None:
        self.name = name if isinstance(name, str) and name else "unnamed"
        self._extra = attrs
        self._span: Any = None
        self._token: Any = None
        self._start = 0.0
        self._error: str | None = None
        # (span, token, start, error) of outer uses while the same instance is entered again
        self._outer: list[tuple[Any, Any, float, str | None]] = []

    def _span_name(self) -> str:
        return f"{self.operation} {self.name}"

    def _attributes(self) -> dict[str, Any]:
        return {c.GEN_AI_OPERATION_NAME: self.operation}

    def _clone(self) -> _Step:
        return type(self)(self.name, **self._extra)

    # -- span lifecycle (never raises) ---------------------------------------------------------
    @guarded("spans.start")
    def _begin(self, attach: bool = True) -> None:
        if self._span is not None:  # this instance is already active: nest, restore at end
            self._outer.append((self._span, self._token, self._start, self._error))
            self._span = self._token = self._error = None
        attrs = {**current_span_attributes(), **_id_attrs(self._extra), **self._attributes()}
        self._span = _state.tracer().start_span(self._span_name(), kind=self.kind, attributes=attrs)
        if attach:
            self._token = otel_context.attach(trace.set_span_in_context(self._span))
        self._start = time.perf_counter()

    @guarded("spans.attach")
    def _attach(self) -> Any:
        """Make the span current for one step of a decorated generator (None: no span)."""
        if self._span is None:
            return None
        return otel_context.attach(trace.set_span_in_context(self._span))

    @guarded("spans.detach")
    def _detach(self, token: Any) -> None:
        if token is not None:
            otel_context.detach(token)

    @guarded("spans.end")
    def _end(self, exc: BaseException | None) -> None:
        if self._token is not None:
            try:
                otel_context.detach(self._token)
            except Exception as e:
                report("spans.detach", e)
            self._token = None
        if self._span is None:
            return
        duration = time.perf_counter() - self._start
        if exc is not None:
            self._error = type(exc).__name__
            self._span.set_attribute(c.ERROR_TYPE, self._error)
            self._span.set_attribute(c.ATTR_ERROR_TYPE, self._error)
            self._span.record_exception(exc)
            self._span.set_status(Status(StatusCode.ERROR, self._error))
        try:
            self._finish(duration)
        finally:
            try:
                self._span.end()
            finally:
                self._span = None
                self._error = None
                if self._outer:
                    self._span, self._token, self._start, self._error = self._outer.pop()

    def _finish(self, duration: float) -> None:
        """Metrics of the step (subclasses)."""

    # -- protocols -------------------------------------------------------------------------------
    def __enter__(self) -> Any:
        self._begin()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        self._end(exc)
        return False

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        return self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator: a fresh span per call of *fn* (sync or async); for a generator function,
        per iteration of the generator it returns."""
        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
                step = self._clone()
                agen = fn(*args, **kwargs)
                step._begin(attach=False)
                failure: BaseException | None = None
                try:
                    to_send: Any = None
                    to_throw: BaseException | None = None
                    while True:
                        token = step._attach()
                        try:
                            if to_throw is not None:
                                thrown, to_throw = to_throw, None
                                item = await agen.athrow(thrown)
                            else:
                                item = await agen.asend(to_send)
                        except StopAsyncIteration:
                            return
                        finally:
                            step._detach(token)
                        try:
                            to_send = yield item
                        except GeneratorExit:
                            raise
                        except BaseException as e:  # athrow() by the app: pass it in
                            to_throw = e
                except GeneratorExit:  # closed early (aclose() or GC): not a failure
                    await agen.aclose()
                    raise
                except BaseException as e:
                    failure = e
                    raise
                finally:
                    step._end(failure)

            return agen_wrapper

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                # the span covers the iteration and is current only while the generator runs
                # (between yields the caller's context is untouched, whichever context it is)
                step = self._clone()
                gen = fn(*args, **kwargs)
                step._begin(attach=False)
                failure: BaseException | None = None
                try:
                    to_send: Any = None
                    to_throw: BaseException | None = None
                    while True:
                        token = step._attach()
                        try:
                            if to_throw is not None:
                                thrown, to_throw = to_throw, None
                                item = gen.throw(thrown)
                            else:
                                item = gen.send(to_send)
                        except StopIteration as stop:
                            return stop.value
                        finally:
                            step._detach(token)
                        try:
                            to_send = yield item
                        except GeneratorExit:
                            raise
                        except BaseException as e:  # throw() by the app: pass it in
                            to_throw = e
                except GeneratorExit:  # closed early (close() or GC): not a failure
                    gen.close()
                    raise
                except BaseException as e:
                    failure = e
                    raise
                finally:
                    step._end(failure)

            return gen_wrapper

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                async with self._clone():
                    return await fn(*args, **kwargs)

            return awrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._clone():
                return fn(*args, **kwargs)

        return wrapper


class chain(_Step):
    """A pipeline step grouping retrievals, tools and LLM calls: one INTERNAL span."""

    operation = c.OPERATION_CHAIN

    def _attributes(self) -> dict[str, Any]:
        return {
            c.GEN_AI_OPERATION_NAME: self.operation,
            c.ATTR_CHAIN_NAME: self.name,
            c.GEN_AI_WORKFLOW_NAME: self.name,
        }


class tool(_Step):
    """A tool execution (``execute_tool {name}``), timed in ``llm_insights.tool.duration``.

    ``type`` is ``gen_ai.tool.type`` (function, extension, datastore); ``call_id`` the model's
    tool-call id when the call answers one. ``arguments`` (and ``record_result(...)`` inside)
    are exported only with content capture on, redacted and cut like messages.
    """

    operation = c.OPERATION_EXECUTE_TOOL

    def __init__(
        self,
        name: str,
        *,
        type: str = c.TOOL_TYPE_FUNCTION,
        call_id: str | None = None,
        description: str | None = None,
        arguments: Any = None,
        **attrs: Any,
    ) -> None:
        super().__init__(name, **attrs)
        self.tool_type = type if isinstance(type, str) and type else c.TOOL_TYPE_FUNCTION
        self.call_id = call_id if isinstance(call_id, str) and call_id else None
        self.description = description if isinstance(description, str) and description else None
        self.arguments = arguments
        self._result: Any = None
        self._has_result = False
        self._agent_name: str | None = None

    def _clone(self) -> _Step:
        return type(self)(
            self.name,
            type=self.tool_type,
            call_id=self.call_id,
            description=self.description,
            arguments=self.arguments,
            **self._extra,
        )

    def _attributes(self) -> dict[str, Any]:
        attrs = {
            c.GEN_AI_OPERATION_NAME: self.operation,
            c.GEN_AI_TOOL_NAME: self.name,
            c.GEN_AI_TOOL_TYPE: self.tool_type,
        }
        if self.call_id:
            attrs[c.GEN_AI_TOOL_CALL_ID] = self.call_id
        if self.description:
            attrs[c.GEN_AI_TOOL_DESCRIPTION] = self.description
        run = _agent.current_run()
        self._agent_name = run.name if run is not None else None
        return attrs

    @guarded("tool.record_result")
    def record_result(self, result: Any) -> None:
        """What the tool returned (exported as ``gen_ai.tool.call.result`` only with capture on)."""
        self._result, self._has_result = result, True

    def _finish(self, duration: float) -> None:
        _agent.record_tool_call(self.name, duration, self._error, self._agent_name)
        _agent.note_tool_call()
        if should_capture(bool(self._error)):
            if self.arguments is not None:
                self._span.set_attribute(c.GEN_AI_TOOL_CALL_ARGUMENTS, content_text(self.arguments))
            if self._has_result:
                self._span.set_attribute(c.GEN_AI_TOOL_CALL_RESULT, content_text(self._result))
        self._result, self._has_result = None, False


class agent(_Step):
    """An agent run (``invoke_agent {name}``, INTERNAL: the agent runs in this process).

    LLM calls and tools inside are its children and count for the run (and for every enclosing
    run: agents nest). A run an exception leaves is failed (error status, ``error.type``); the
    exception propagates unchanged. Run totals go on the span and into the agent metrics.
    """

    operation = c.OPERATION_INVOKE_AGENT

    def __init__(
        self,
        name: str,
        *,
        id: str | None = None,
        version: str | None = None,
        description: str | None = None,
        **attrs: Any,
    ) -> None:
        super().__init__(name, **attrs)
        self.agent_id = id if isinstance(id, str) and id else None
        self.version = version if isinstance(version, (str, int, float)) and version != "" else None
        self.description = description if isinstance(description, str) and description else None
        # (run, contextvar token or None, the run it replaced) per active use, innermost last
        self._runs: list[tuple[_agent.Run, Any, _agent.Run | None]] = []
        self._ending: _agent.Run | None = None

    def _clone(self) -> _Step:
        return type(self)(
            self.name,
            id=self.agent_id,
            version=self.version,
            description=self.description,
            **self._extra,
        )

    def _attributes(self) -> dict[str, Any]:
        parent = _agent.current_run()
        attrs: dict[str, Any] = {
            c.GEN_AI_OPERATION_NAME: self.operation,
            c.GEN_AI_AGENT_NAME: self.name,
            c.ATTR_MAIN_AGENT_NAME: parent.main if parent is not None else self.name,
        }
        if self.agent_id:
            attrs[c.GEN_AI_AGENT_ID] = self.agent_id
        if self.version is not None:
            attrs[c.GEN_AI_AGENT_VERSION] = str(self.version)
        if self.description:
            attrs[c.GEN_AI_AGENT_DESCRIPTION] = self.description
        return attrs

    def _begin(self, attach: bool = True) -> None:
        super()._begin(attach)
        self._start_run(attach)

    @guarded("agent.start")
    def _start_run(self, attach: bool) -> None:
        if self._span is None:  # the span could not start: no run either
            return
        previous = _agent.current_run()
        run = _agent.Run(self.name, previous)
        token = _agent.enter(run) if attach else None
        self._runs.append((run, token, previous))

    @guarded("spans.attach")
    def _attach(self) -> Any:
        token = super()._attach()
        if not self._runs:
            return (token, None, None)
        run = self._runs[-1][0]
        return (token, _agent.enter(run), run.parent)

    @guarded("spans.detach")
    def _detach(self, token: Any) -> None:
        if token is None:
            return
        otel_token, run_token, previous = token
        if run_token is not None:
            _agent.leave(run_token, previous)
        super()._detach(otel_token)

    def _end(self, exc: BaseException | None) -> None:
        entry = None
        try:
            entry = self._runs.pop() if self._runs else None
            self._ending = entry[0] if entry else None
        except Exception as e:
            report("agent.end", e)
        try:
            super()._end(exc)
        finally:
            self._ending = None
            if entry is not None and entry[1] is not None:
                _agent.leave(entry[1], entry[2])

    def _finish(self, duration: float) -> None:
        run = self._ending
        if run is None:
            return
        self._span.set_attributes(_agent.run_attributes(run))
        _agent.finish_run(run, duration, self._error)


class retrieval(_Step):
    """A retrieval (``retrieval {name}``, CLIENT). Call ``record_documents(scores=...)`` inside."""

    operation = c.OPERATION_RETRIEVAL
    kind = SpanKind.CLIENT

    def __init__(self, name: str, **attrs: Any) -> None:
        super().__init__(name, **attrs)
        self.documents: int | None = None
        self.top_score: float | None = None

    def _attributes(self) -> dict[str, Any]:
        return {
            c.GEN_AI_OPERATION_NAME: self.operation,
            c.ATTR_RETRIEVAL_NAME: self.name,
            c.GEN_AI_DATA_SOURCE_ID: self.name,
        }

    @guarded("retrieval.record_documents")
    def record_documents(self, scores: Any = None, *, count: Any = None) -> None:
        """What the retrieval returned: relevance *scores* (one per document) and/or *count*."""
        valid = []
        if scores is not None:
            scores = list(scores)
            valid = [v for v in (finite_number(s) for s in scores) if v is not None]
        n = finite_number(count)
        if n is not None and n >= 0 and n == int(n):
            self.documents = int(n)
        elif scores is not None:
            self.documents = len(scores)
        self.top_score = max(valid) if valid else None

    def _finish(self, duration: float) -> None:
        inst = _state.instruments()
        dims = {c.ATTR_RETRIEVAL_NAME: self.name}
        err = {**dims, c.ERROR_TYPE: self._error} if self._error else dims
        inst.record(c.RETRIEVAL_DURATION, duration, err)
        if self.documents is None:
            return
        self._span.set_attribute(c.ATTR_RETRIEVAL_DOCUMENTS, self.documents)
        inst.record(c.RETRIEVAL_DOCUMENTS, self.documents, dims)
        if self.documents == 0:
            inst.add(c.RETRIEVAL_EMPTY, 1, dims)
        elif self.top_score is not None:
            self._span.set_attribute(c.ATTR_RETRIEVAL_TOP_SCORE, self.top_score)
            inst.record(c.RETRIEVAL_TOP_SCORE, self.top_score, dims)
            inst.bucket(c.RETRIEVAL_TOP_SCORE_BUCKET_COUNTS, self.top_score, dims)
