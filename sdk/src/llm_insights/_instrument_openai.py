"""Patch the openai v1+ client (OpenAI and Azure OpenAI, sync and async): chat completions,
the Responses API and embeddings, streaming or not, with wrapt wrappers that
``uninstrument_openai()`` removes.

What the app passes and gets back is unchanged, with one transparent exception: a streamed
chat call that did not ask for usage gets ``stream_options.include_usage`` added, and the extra
usage-only chunk is hidden from the app. If the server rejects ``stream_options`` (old Azure API
versions) the call is retried once without it and that endpoint is never asked again.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import wrapt
from opentelemetry import context as otel_context

from . import _responses_api, _state
from . import contract as c
from ._call import USAGE_FIELDS_OPENAI, LLMCall
from ._fields import get
from ._guard import guarded, report
from ._stream_proxy import (
    AsyncStreamManagerProxy,
    AsyncStreamProxy,
    StreamManagerProxy,
    StreamState,
    SyncStreamProxy,
)
from ._with_streaming_response import AsyncStreamingResponseProxy, StreamingResponseProxy

# (module, class, method, API, async); `parse` (structured outputs) posts on its own, it does
# not go through `create`, so it is patched too where the installed openai has it. The API is
# the operation name, except the Responses API (recorded as operation `chat`).
_CHAT = "openai.resources.chat.completions"
_RESPONSES = "openai.resources.responses"
_RESPONSES_API = "responses"
_TARGETS = (
    (_CHAT, "Completions", "create", c.OPERATION_CHAT, False),
    (_CHAT, "AsyncCompletions", "create", c.OPERATION_CHAT, True),
    (_CHAT, "Completions", "parse", c.OPERATION_CHAT, False),
    (_CHAT, "AsyncCompletions", "parse", c.OPERATION_CHAT, True),
    (_RESPONSES, "Responses", "create", _RESPONSES_API, False),
    (_RESPONSES, "AsyncResponses", "create", _RESPONSES_API, True),
    (_RESPONSES, "Responses", "parse", _RESPONSES_API, False),
    (_RESPONSES, "AsyncResponses", "parse", _RESPONSES_API, True),
    ("openai.resources.embeddings", "Embeddings", "create", c.OPERATION_EMBEDDINGS, False),
    ("openai.resources.embeddings", "AsyncEmbeddings", "create", c.OPERATION_EMBEDDINGS, True),
)
# `stream()` helpers: they call the (patched) `create(stream=True)`, so the call is recorded
# there; their managers' `with` exit closes the HTTP response without going through the stream
# proxy, so the manager is wrapped to record an early close when it happens (not at GC).
_STREAM_HELPERS = (
    (_CHAT, "Completions", False),
    (_CHAT, "AsyncCompletions", True),
    ("openai.resources.beta.chat.completions", "Completions", False),  # openai 1.x
    ("openai.resources.beta.chat.completions", "AsyncCompletions", True),
    (_RESPONSES, "Responses", False),
    (_RESPONSES, "AsyncResponses", True),
)
_RAW_HEADER = "x-stainless-raw-response"
_MARK = "_llm_insights_wrapper"
_no_inject: set[str] = set()
_lock = threading.Lock()


# -- request side -----------------------------------------------------------------------------
_targets: dict[tuple[type, str], tuple[str | None, int | None, bool]] = {}
_TARGETS_MAX = 256  # distinct (client class, base URL) pairs remembered
# the last client seen: (client class, its base URL object, what _target answered)
_last_target: tuple[Any, Any, tuple[str, str | None, int | None, bool]] | None = None


def _target(instance: Any) -> tuple[str, str | None, int | None, bool]:
    """(base URL, host, port, is Azure) of the client behind *instance*; parsed once per
    (client class, base URL), not on every call — and for the same client's same URL object
    as the previous call, not even turned into text again."""
    global _last_target
    client = getattr(instance, "_client", None)
    # openai keeps what its public ``base_url`` returns in the client's ``_base_url`` (1.x to
    # 3.x, pinned by tests/sdk/test_openai_target.py); read directly, it skips the property's
    # per-call import in openai 3.x. A client without it is read through the property.
    fields = getattr(client, "__dict__", None)
    url = fields.get("_base_url") if fields else None
    if url is None:
        url = getattr(client, "base_url", "")
    last = _last_target
    if last is not None and last[1] is url and last[0] is type(client):
        return last[2]
    base = str(url or "")
    key = (type(client), base)
    hit = _targets.get(key)
    if hit is None:
        parts = urlsplit(base)
        port = parts.port
        if port is None:
            port = 443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None
        hit = (parts.hostname, port, _is_azure(client, base, parts.hostname))
        if len(_targets) >= _TARGETS_MAX:
            _targets.clear()
        _targets[key] = hit
    answer = (base, *hit)
    _last_target = (type(client), url, answer)
    return answer


def _is_azure(client: Any, base: str, host: str | None) -> bool:
    if "/openai/deployments/" in base or (host or "").endswith(".openai.azure.com"):
        return True
    return any(k.__name__ in ("AzureOpenAI", "AsyncAzureOpenAI") for k in type(client).__mro__)


def _deployment(base: str, model: Any) -> str | None:
    if "/deployments/" in base:
        return base.split("/deployments/", 1)[1].split("/", 1)[0] or None
    return model if isinstance(model, str) else None


def _raw_mode(kwargs: Mapping[str, Any]) -> str | None:
    headers = kwargs.get("extra_headers")
    if isinstance(headers, Mapping):
        for k, v in headers.items():
            if isinstance(k, str) and k.lower() == _RAW_HEADER:
                return str(v)
    return None


def api_operation(api: str) -> str:
    """gen_ai.operation.name of a patched API (the Responses API is a chat operation)."""
    return c.OPERATION_CHAT if api == _RESPONSES_API else api


@guarded("openai.prepare")
def _prepare(
    instance: Any, kwargs: dict[str, Any], api: str, wrapped: Any = None
) -> tuple[LLMCall, dict[str, Any], bool, str, str | None] | None:
    base, host, port, azure = _target(instance)
    model = kwargs.get("model")
    operation = api_operation(api)
    stream = kwargs.get("stream") is True and operation == c.OPERATION_CHAT
    raw = _raw_mode(kwargs)
    options = kwargs.get("stream_options")
    options = dict(options) if isinstance(options, Mapping) else {}
    inject = (
        stream
        and api == c.OPERATION_CHAT  # Responses streams always end with their usage
        and raw is None
        and base not in _no_inject
        and not options.get("include_usage")
    )
    call_kwargs = kwargs
    if inject:
        call_kwargs = {**kwargs, "stream_options": {**options, "include_usage": True}}
    request_attrs = {}
    for key, attr in (
        ("max_tokens", c.GEN_AI_REQUEST_MAX_TOKENS),
        ("max_completion_tokens", c.GEN_AI_REQUEST_MAX_TOKENS),
        ("max_output_tokens", c.GEN_AI_REQUEST_MAX_TOKENS),  # Responses API
        ("temperature", c.GEN_AI_REQUEST_TEMPERATURE),
    ):
        v = kwargs.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            request_attrs[attr] = v
    call = LLMCall(
        operation=operation,
        provider=c.PROVIDER_AZURE_OPENAI if azure else c.PROVIDER_OPENAI,
        request_model=model if isinstance(model, str) else None,
        server_address=host,
        server_port=port,
        deployment=_deployment(base, model) if azure else None,
        streaming=stream,
        request_attributes=request_attrs,
        messages=_messages_snapshot(kwargs, api),
        # another instrumentation patched in under this one would start its GenAI span inside
        # the call, where the de-duplication needs the kit's span recorded (see LLMCall)
        lazy=getattr(wrapped, "_self_wrapper", None) is None,
    )
    return call, call_kwargs, inject, base, raw


def _messages_snapshot(kwargs: Mapping[str, Any], api: str) -> Any:
    """The prompt, copied only when content capture may use it (the app may mutate its list)."""
    if api == c.OPERATION_EMBEDDINGS or _state.settings.capture_content == _state.CONTENT_OFF:
        return None
    if api == _RESPONSES_API:
        return _responses_api.request_messages(kwargs)
    messages = kwargs.get("messages")
    return list(messages) if isinstance(messages, (list, tuple)) else messages


def _rejects_stream_options(exc: BaseException) -> bool:
    if getattr(exc, "status_code", None) != 400:
        return False
    return "stream_options" in f"{getattr(exc, 'message', '')} {getattr(exc, 'body', '')}"


def _retry_kwargs(
    call: LLMCall, exc: BaseException, kwargs: dict[str, Any], inject: bool, base: str
) -> dict[str, Any] | None:
    """After a request failed with *exc*: the app's own *kwargs* to send once more when the
    server rejected the ``stream_options`` the SDK injected (that endpoint is never asked
    again), else None: the call failed and is recorded so, and the caller re-raises."""
    if inject and _rejects_stream_options(exc):
        with _lock:
            _no_inject.add(base)
        return kwargs
    _fail(call, exc)
    return None


def _fail(call: LLMCall, exc: BaseException) -> None:
    try:
        call.fail(exc)
        call.finish()
    except Exception as e:
        report("openai.fail", e)


# -- response side ------------------------------------------------------------------------------
_types: list[Any] = []  # openai's chat completion, choice, message and usage models, or [None]


def _openai_types() -> list[Any]:
    """The openai client's own chat completion models, for the typed reading path (``[None]``:
    this openai has other ones, so every response takes the generic path)."""
    if not _types:
        try:
            from openai.types.chat.chat_completion import ChatCompletion, Choice
            from openai.types.chat.chat_completion_message import ChatCompletionMessage
            from openai.types.completion_usage import (
                CompletionTokensDetails,
                CompletionUsage,
                PromptTokensDetails,
            )

            found = [ChatCompletion, Choice, ChatCompletionMessage, CompletionUsage]
            found += [PromptTokensDetails, CompletionTokensDetails]
            # the typed path reads these as fields: an openai without one of them (it would
            # arrive as an extra) keeps the generic path
            for model, names in zip(found, _TYPED_FIELDS):
                if not names <= model.model_fields.keys():
                    raise LookupError(f"{model.__name__} has no {sorted(names)}")
            _types[:] = found
        except Exception:
            _types[:] = [None]
    return _types


_TYPED_FIELDS = (
    {"id", "model", "choices", "usage"},
    {"index", "message", "finish_reason"},
    {"content"},
    {"prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"},
    {"cached_tokens", "audio_tokens"},
    {"reasoning_tokens", "audio_tokens"},
)


def _field_or_extra(model: Any, fields: dict[str, Any], key: str) -> Any:
    """A key some openai releases declare and others pass through as an extra (Azure's)."""
    value = fields.get(key)
    if value is None:
        extra = model.__pydantic_extra__
        value = extra.get(key) if extra else None
    return value


def _typed_usage(usage: Any, types: list[Any]) -> tuple[Any, ...] | None:
    """Usage counts in the order of ``USAGE_FIELDS_OPENAI`` read straight from openai's own
    usage model; None when anything is not what that model promises (the generic path reads
    and reports it)."""
    if type(usage) is not types[3]:
        return None
    u = usage.__dict__
    cached = write = reasoning = audio_in = audio_out = None
    pd = u.get("prompt_tokens_details")
    if pd is not None:
        if type(pd) is not types[4]:
            return None
        d = pd.__dict__
        cached, audio_in = d.get("cached_tokens"), d.get("audio_tokens")
        write = _field_or_extra(pd, d, "cache_write_tokens")
    cd = u.get("completion_tokens_details")
    if cd is not None:
        if type(cd) is not types[5]:
            return None
        d = cd.__dict__
        reasoning, audio_out = d.get("reasoning_tokens"), d.get("audio_tokens")
    counts = (
        u.get("prompt_tokens"),
        u.get("completion_tokens"),
        cached,
        write,
        reasoning,
        audio_in,
        audio_out,
    )
    for v in counts:
        if v is not None and (type(v) is not int or v < 0):
            return None
    return counts


def _record_typed(call: LLMCall, resp: Any) -> bool:
    """``_record_response`` for openai's own ``ChatCompletion`` (and its parsed subclass): its
    fields read directly, everything checked before anything is recorded. False: something is
    not as that model promises — nothing recorded, the generic path reads it."""
    types = _openai_types()
    if types[0] is None or not isinstance(resp, types[0]):
        return False
    d = resp.__dict__
    usage = d.get("usage")
    counts = None
    if usage is not None:
        counts = _typed_usage(usage, types)
        if counts is None:
            return False
    choices = d.get("choices")
    if type(choices) is not list:
        return False
    read = []
    for choice in choices:
        if not isinstance(choice, types[1]):
            return False
        cd = choice.__dict__
        message = cd.get("message")
        if message is not None and not isinstance(message, types[2]):
            return False
        index = cd.get("index")
        read.append(
            (
                index if type(index) is int and 0 <= index < 128 else 0,
                message.__dict__.get("content") if message is not None else None,
                cd.get("finish_reason"),
                _field_or_extra(choice, cd, "content_filter_results"),
            )
        )
    call.set_response(d.get("model"), d.get("id"))
    if counts is not None:
        call.set_counts(counts)
    call.filters.add_prompt_filter_results(_field_or_extra(resp, d, "prompt_filter_results"))
    for index, content, finish_reason, filter_results in read:
        call.add_text(content, index, finish_reason)
        call.filters.add_results(c.FILTER_SOURCE_COMPLETION, filter_results)
    return True


def _record_response(call: LLMCall, resp: Any) -> None:
    try:
        if _record_typed(call, resp):
            return
    except Exception as exc:  # nothing was recorded: the generic path reads it
        report("openai.typed_response", exc)
    call.set_response(get(resp, "model"), get(resp, "id"))
    call.set_usage_from(get(resp, "usage"), USAGE_FIELDS_OPENAI)
    call.filters.add_prompt_filter_results(get(resp, "prompt_filter_results"))
    for choice in get(resp, "choices") or []:
        index = get(choice, "index")
        index = index if isinstance(index, int) and 0 <= index < 128 else 0
        call.add_text(get(get(choice, "message"), "content"), index, get(choice, "finish_reason"))
        call.filters.add_results(c.FILTER_SOURCE_COMPLETION, get(choice, "content_filter_results"))


_stream_types: tuple[type, ...] = ()


def _is_stream(result: Any) -> bool:
    global _stream_types
    if not _stream_types:
        import openai

        _stream_types = (openai.Stream, openai.AsyncStream)
    return isinstance(result, _stream_types)


def _recorder(api: str) -> Any:
    """How a complete (non-streamed) result of *api* is read."""
    return _responses_api.record_response if api == _RESPONSES_API else _record_response


def _parses_raw(call: LLMCall, raw: str | None, result: Any) -> bool:
    """A ``with_raw_response`` result whose body the SDK reads with ``parse()`` (not a stream).
    openai caches the parsed body, so the app's own ``parse()`` later gets the same object."""
    return raw not in (None, "stream") and not call.streaming and hasattr(result, "parse")


_UNPARSED = object()  # the raw body is parsed by ``_handle`` itself (sync clients)
_UNREADABLE = object()  # parsing the raw body failed (already reported)


def _handle(
    call: LLMCall,
    result: Any,
    inject: bool,
    raw: str | None,
    is_async: bool,
    api: str,
    parsed: Any = _UNPARSED,
) -> Any:
    """Record *result* (or wrap it when it is a stream); return what the app gets. *parsed*:
    the body of a ``with_raw_response`` result the async wrapper already awaited."""
    try:
        if _is_stream(result):
            return _proxied_stream(call, result, inject, is_async, api)
        if raw == "stream":  # with_streaming_response: recorded when the app reads the body
            proxy = AsyncStreamingResponseProxy if is_async else StreamingResponseProxy
            return proxy(result, call, functools.partial(_read_body, call, is_async, api))
        if raw is None:
            _recorder(api)(call, result)
        elif _parses_raw(call, raw, result):
            body = result.parse() if parsed is _UNPARSED else parsed
            if body is not _UNREADABLE:
                _recorder(api)(call, body)
        call.finish()
    except Exception as exc:
        report("openai.response", exc)
        call.finish()
    return result


def _proxied_stream(call: LLMCall, stream: Any, inject: bool, is_async: bool, api: str) -> Any:
    state = (
        _responses_api.ResponsesStreamState(call, hide_usage_chunk=False)
        if api == _RESPONSES_API
        else StreamState(call, hide_usage_chunk=inject)
    )
    return AsyncStreamProxy(stream, state) if is_async else SyncStreamProxy(stream, state)


def _read_body(call: LLMCall, is_async: bool, api: str, body: Any) -> Any:
    """A ``with_streaming_response`` body the app parsed (or read as JSON): record it, or proxy
    it when it is a stream (nothing was injected into a raw request). Returns what the app
    gets."""
    try:
        if call.done:
            return body
        if _is_stream(body):
            return _proxied_stream(call, body, False, is_async, api)
        _recorder(api)(call, body)
        call.finish()
    except Exception as exc:
        report("openai.streaming_response", exc)
        call.finish()
    return body


def _sync_wrapper(operation: str) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        prep = _prepare(instance, kwargs, operation, wrapped)
        if prep is None:
            return wrapped(*args, **kwargs)
        call, send, inject, base, raw = prep
        while True:
            try:
                token = call.activate()
                try:
                    result = wrapped(*args, **send)
                finally:
                    otel_context.detach(token)
                break
            except Exception as exc:
                send = _retry_kwargs(call, exc, kwargs, inject, base)
                if send is None:
                    raise
                inject = False
        return _handle(call, result, inject, raw, False, operation)

    wrapper._llm_insights_wrapper = True  # type: ignore[attr-defined]
    return wrapper


def _async_wrapper(operation: str) -> Any:
    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        prep = _prepare(instance, kwargs, operation, wrapped)
        if prep is None:
            return await wrapped(*args, **kwargs)
        call, send, inject, base, raw = prep
        while True:
            try:
                token = call.activate()
                try:
                    result = await wrapped(*args, **send)
                finally:
                    otel_context.detach(token)
                break
            except Exception as exc:
                send = _retry_kwargs(call, exc, kwargs, inject, base)
                if send is None:
                    raise
                inject = False
        parsed = _UNPARSED
        if _parses_raw(call, raw, result):
            try:
                # openai's legacy raw response parses synchronously even on async clients; an
                # async one returns an awaitable
                parsed = result.parse()
                if inspect.isawaitable(parsed):
                    parsed = await parsed
            except Exception as exc:
                report("openai.response", exc)
                parsed = _UNREADABLE
        return _handle(call, result, inject, raw, True, operation, parsed)

    wrapper._llm_insights_wrapper = True  # type: ignore[attr-defined]
    return wrapper


def _stream_helper_wrapper(is_async: bool) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            return AsyncStreamManagerProxy(manager) if is_async else StreamManagerProxy(manager)
        except Exception as exc:
            report("openai.stream_helper", exc)
            return manager

    wrapper._llm_insights_wrapper = True  # type: ignore[attr-defined]
    return wrapper


# -- patching -------------------------------------------------------------------------------------
def _classes() -> list[tuple[type, str, Any]]:
    """(class, method, wrapper factory) of every patch target the installed openai has."""
    import importlib

    def find(module_name: str, cls_name: str, method: str) -> type | None:
        try:
            cls = getattr(importlib.import_module(module_name), cls_name)
        except (ImportError, AttributeError):
            return None
        return cls if method in cls.__dict__ else None

    out: list[tuple[type, str, Any]] = []
    for module_name, cls_name, method, operation, is_async in _TARGETS:
        cls = find(module_name, cls_name, method)
        if cls is not None:
            factory = _async_wrapper if is_async else _sync_wrapper
            out.append((cls, method, functools.partial(factory, operation)))
    for module_name, cls_name, is_async in _STREAM_HELPERS:
        cls = find(module_name, cls_name, "stream")
        if cls is not None:
            out.append((cls, "stream", functools.partial(_stream_helper_wrapper, is_async)))
    return out


def _is_ours(fn: Any) -> bool:
    # also a BoundFunctionWrapper: what OpenTelemetry's ``unwrap`` (opentelemetry-instrumentation
    # utils) leaves in the class when another instrumentor patched over ours and uninstruments
    # first; missing it, we would patch a second time and never uninstrument
    return bool(getattr(getattr(fn, "_self_wrapper", None), _MARK, False))


def instrument_openai() -> bool:
    """Patch the installed openai package; True when it is (now or already) instrumented."""
    try:
        classes = _classes()
        for cls, method, make_wrapper in classes:
            if _is_ours(cls.__dict__.get(method)):
                continue
            wrapt.wrap_function_wrapper(cls, method, make_wrapper())
        return bool(classes)
    except Exception as exc:
        report("openai.instrument", exc)
        return False


def uninstrument_openai() -> None:
    """Remove the SDK's wrappers (other libraries' wrappers stay)."""
    try:
        for cls, method, _ in _classes():
            fn = cls.__dict__.get(method)
            if _is_ours(fn):
                setattr(cls, method, fn.__wrapped__)
    except Exception as exc:
        report("openai.uninstrument", exc)
    with _lock:
        _no_inject.clear()
